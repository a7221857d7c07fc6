"""Write the documentation's sections that come from the code, so that they cannot drift from it:
the README's example (the device.json a person writes, and the answer the served model gives it),
and docs/operating.md's settings table (fn/server/settings.py) and metrics table (the
prometheus_client metrics fn/server/metrics.py declares). tests/test_docs.py fails when the
committed files differ from what this renders now.

    python -m scripts.docs [--check]
"""

from __future__ import annotations

import inspect
import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

if __package__ in (None, ""):  # run as a file: import the project from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import cli, readme

ROOT = readme.ROOT
OPERATING = ROOT / "docs" / "operating.md"
# The port the README's `docker run` publishes.
PORT = 8080


def cell(text: str) -> str:
    """Text for a Markdown table cell: a pipe would end the cell, <...> would be read as HTML."""
    return text.replace("|", "\\|").replace("<", "&lt;")


# -- the README's example --------------------------------------------------------------------

def example_record() -> dict[str, Any]:
    """fn/record/fields.py's EXAMPLE as a person knows it: the new price in money, whole numbers whole."""
    from fn.record.fields import EXAMPLE

    record = {k: v for k, v in EXAMPLE.items() if k != "normalized_new_price"}
    record["new_price"] = round(math.exp(EXAMPLE["normalized_new_price"]), 2)
    return {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in record.items()}


# The optional field the README's second example leaves out (its warning is the answer shown).
LEFT_OUT = "ram"


def example() -> str:
    """The record a person writes with every field (no warning), its answer, and the same record
    with LEFT_OUT deleted by the command shown, and the warning that answer carries."""
    from fn.api.dataplane import DataPlane
    from fn.api.messages import Request
    from fn.model.tflite import Predictor
    from fn.record.fields import NUMERIC

    plane = DataPlane(Predictor())
    body = json.dumps(example_record(), indent=2)
    answer = plane.predict(Request("POST", "/", body.encode())).body
    # what `grep -v` makes of the file: the line gone, the JSON still valid (it is not the last)
    partial = "\n".join(line for line in body.splitlines() if f'"{LEFT_OUT}"' not in line)
    warnings = json.loads(plane.predict(Request("POST", "/", partial.encode())).body)["warnings"]
    optional = ", ".join(f"`{f.name}`" for f in NUMERIC if not f.required)
    return "\n".join([
        "```sh", "cat > device.json <<'EOF'", body, "EOF",
        f"curl -s -d @device.json http://127.0.0.1:{PORT}/ | python3 -m json.tool", "```", "",
        "answers (the served model, rendered by `python -m scripts.docs`):", "",
        "```json", json.dumps(json.loads(answer), indent=4), "```", "",
        f"`warnings` is empty: every field was sent. The optional ones ({optional}) may be left out when a "
        "seller does not know them; the price then uses the training median for each, and the answer names "
        f"every one it filled in (an `imputed` warning each). The same device without `{LEFT_OUT}`:", "",
        "```sh", f"grep -v '\"{LEFT_OUT}\"' device.json | curl -s -d @- http://127.0.0.1:{PORT}/ "
        "| python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)[\"warnings\"], indent=4))'", "```",
        "", "```json", json.dumps(warnings, indent=4), "```"])


# -- docs/operating.md's settings ----------------------------------------------------------

def shown(value: Any) -> str:
    """A default as one would set it: on/off, seconds, a path inside the repository as relative."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Path) and value.is_relative_to(ROOT):
        return value.relative_to(ROOT).as_posix() + "/"
    return str(value)


def settings_table() -> str:
    from fn.server import settings

    lines = ["| setting | flag | environment | function default | server default | meaning |",
             "|---|---|---|---|---|---|"]
    for s in settings.SETTINGS:
        env = ", ".join(f"`{name}`" for name in (s.name, *s.aliases))
        fn_default, server_default = shown(s.default_for("fn")), shown(s.default_for("baseline"))
        lines.append(f"| `{s.name}` | `--{s.name.replace('_', '-')}` | {env} | `{cell(fn_default)}` "
                     f"| {'same' if server_default == fn_default else f'`{cell(server_default)}`'} | {cell(s.help)} |")
    return "\n".join(lines + ["", "Durations are seconds, or Go's form (`10s`, `500ms`, `1m30s`). "
                              "_Generated by `python -m scripts.docs` from `fn/server/settings.py`._"])


# -- docs/operating.md's metrics -----------------------------------------------------------

KINDS = ("Counter", "Gauge", "Histogram", "Summary")


@dataclass(frozen=True)
class Declared:
    """One metric as fn/server/metrics.py declares it."""
    name: str
    kind: str
    labels: tuple[str, ...]
    help: str


@contextmanager
def recording(seen: list[Declared]) -> Iterator[None]:
    """prometheus_client's metric classes, wherever fn/server/metrics.py may take them from,
    replaced by ones that note each declaration (the constructor's own arguments, bound to its
    public signature) and make the real metric unregistered, so nothing else in this process
    sees it."""
    import prometheus_client

    from fn.server import metrics

    def recorder(cls: type) -> Callable[..., Any]:
        signature = inspect.signature(cls)

        def make(*args: Any, **kwargs: Any) -> Any:
            given = signature.bind(*args, **kwargs).arguments
            seen.append(Declared(given["name"], cls.__name__.lower(), tuple(given.get("labelnames", ())),
                                 given["documentation"]))
            return cls(*args, **{**kwargs, "registry": None})
        return make

    with ExitStack() as stack:
        for module in (prometheus_client, metrics):
            for kind in KINDS:
                if isinstance(getattr(module, kind, None), type):
                    stack.enter_context(mock.patch.object(module, kind, recorder(getattr(module, kind))))
        yield


def declared_metrics() -> list[Declared]:
    """Every metric a server process makes (fn/server/metrics.py's Metrics), in declaration order."""
    from fn.server import metrics

    seen: list[Declared] = []
    with recording(seen):
        metrics.Metrics(())
    return seen


def metrics_table() -> str:
    lines = ["| metric | type | labels | what |", "|---|---|---|---|"]
    lines += [f"| `{m.name}` | {m.kind} | {', '.join(f'`{label}`' for label in m.labels) or '–'} | {cell(m.help)} |"
              for m in declared_metrics()]
    return "\n".join(lines + ["", "_Generated by `python -m scripts.docs` from `fn/server/metrics.py`._"])


# -- the files -----------------------------------------------------------------------------

def sections() -> list[tuple[Path, str, Callable[[], str]]]:
    """(file, section, renderer) of every section this command owns."""
    return [(readme.README, "example", example), (OPERATING, "settings", settings_table),
            (OPERATING, "metrics", metrics_table)]


def rendered() -> dict[Path, str]:
    """Each file this command writes, as it would write it now."""
    texts: dict[Path, str] = {}
    for path, name, render in sections():
        text = texts.get(path) or path.read_text()
        texts[path] = readme.with_section(text, name, render(), path.relative_to(ROOT))
    return texts


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated section is not current")
    args = parser.parse_args(argv)
    try:
        texts = rendered()
    except ValueError as e:  # a file lost its markers
        print(f"docs: {e}", file=sys.stderr)
        return 1
    stale = []
    for path, text in texts.items():
        if path.read_text() != text:
            stale.append(path.relative_to(ROOT).as_posix())
            if not args.check:
                path.write_text(text)
    if args.check:
        print(f"stale: {', '.join(stale)} (run python -m scripts.docs)" if stale else "current")
        return 1 if stale else 0
    print(f"rewrote {', '.join(stale)}" if stale else "every generated section was current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
