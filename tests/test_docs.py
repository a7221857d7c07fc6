"""The README and docs/ stay true: the sections generated from the code are current, the metrics
table is what a server exports, and every link, path, make target and module they name exists."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness import codedocs as docs
from harness import readme, render
from scripts.fleet.report import readme_line
from tests.helpers import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_generated_document_is_current():
    """What python -m scripts.render renders now (the README's example through the served model,
    docs/operating.md's tables from the code, the figures and results from model/ and docs/bench/,
    docs/openapi.json) is what is committed."""
    texts = render.rendered(render.every_section(readme_line))
    assert {p.name for p in texts} >= {"README.md", "operating.md", "model.md", "benchmarks.md", "results.md",
                                       "openapi.json"}
    stale = [p.name for p in render.stale(texts)]
    assert not stale, f"stale: {stale}: run python -m scripts.render"


def test_the_check_names_a_stale_document(tmp_path, capsys):
    page = tmp_path / "page.md"
    page.write_text("<!-- x:start -->\nold\n<!-- x:end -->\n")
    sections = [(page, "x", lambda: "new 1.00000001")]
    assert render.run(sections, True, "render") == 1 and "stale" in capsys.readouterr().out
    assert render.run(sections, False, "render") == 0 and "new 1.00000001" in page.read_text()
    page.write_text(page.read_text().replace("1.00000001", "1.00000002"))  # the last bits of a float
    assert render.run(sections, True, "render") == 0


def test_every_generator_finds_its_markers():
    owned = [(path, name) for path, name, _ in render.every_section(readme_line) if name is not None]
    for path, name in owned:
        start, end = readme.markers(name)
        text = path.read_text()
        assert text.count(start) == 1 and text.count(end) == 1, f"{path.name}: {name}"


def test_the_example_is_the_fields_example_as_a_person_writes_it():
    from fn.record.fields import EXAMPLE

    record = docs.example_record()
    assert "normalized_new_price" not in record
    assert record["new_price"] == pytest.approx(2.718281828 ** EXAMPLE["normalized_new_price"], abs=0.005)
    assert {k: v for k, v in record.items() if k != "new_price"} == {
        k: v for k, v in EXAMPLE.items() if k != "normalized_new_price"}
    heredoc = re.search(r"cat > device\.json <<'EOF'\n(.*?)\nEOF\n", readme.README.read_text(), re.S)
    assert heredoc and json.loads(heredoc.group(1)) == record


EXPOSE = """
import json, sys
from prometheus_client import REGISTRY, generate_latest
from fn.server.metrics import Metrics
declared = json.loads(sys.argv[1])
made = Metrics(())
by_name = {}
for value in vars(made).values():
    if hasattr(value, "describe") and hasattr(value, "labels"):
        by_name[value.describe()[0].name] = value
for d in declared:
    metric = by_name[d["name"].removesuffix("_total") if d["kind"] == "counter" else d["name"]]
    if d["labels"]:
        metric = metric.labels(**{label: "x" for label in d["labels"]})
    {"counter": lambda m: m.inc(), "gauge": lambda m: m.set(1), "histogram": lambda m: m.observe(0.1)}[d["kind"]](metric)
sys.stdout.write(generate_latest(REGISTRY).decode())
"""


def test_the_metrics_table_is_what_a_server_exports():
    """The declarations the table is read from, against a real Metrics in a fresh process: the
    same names, types and help in the exposition, and each metric takes exactly those labels."""
    declared = docs.declared_metrics()
    assert len(declared) >= 10 and len({d.name for d in declared}) == len(declared)
    arg = json.dumps([{"name": d.name, "kind": d.kind, "labels": d.labels} for d in declared])
    proc = subprocess.run([sys.executable, "-c", EXPOSE, arg], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    for d in declared:
        assert f"# HELP {d.name} {d.help}\n" in text, d.name
        assert f"# TYPE {d.name} {d.kind}\n" in text, d.name
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for d in declared:
        family = families[d.name.removesuffix("_total") if d.kind == "counter" else d.name]
        labels = {name for s in family.samples for name in s.labels if name != "le"}
        assert labels == set(d.labels), d.name


def test_the_settings_table_has_every_setting():
    from fn.server import settings

    table = docs.settings_table()
    for s in settings.SETTINGS:
        assert f"| `{s.name}` | `--{s.name.replace('_', '-')}` |" in table


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def code(text: str) -> list[str]:
    """The page's code: fenced blocks and inline spans."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.S | re.M))
    return fenced + inline


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_resolves(page):
    text = page.read_text()
    for target in re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'<img src="([^"]+)"', text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.name}: {target}"
        if anchor and file.suffix == ".md":
            prose = re.sub(r"^```[^\n]*\n.*?^```", "", file.read_text(), flags=re.S | re.M)
            headings = re.findall(r"^#+ (.+)$", prose, re.M)
            assert anchor in {slug(h) for h in headings}, f"{page.name}: {target}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_path_target_and_module_named_exists(page):
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))
    for snippet in code(page.read_text()):
        for target in re.findall(r"(?:^|[\s;&(])make ([a-z][\w-]*)", snippet):
            assert target in targets, f"{page.name}: make {target}"
        for module in re.findall(r"python3? (?:-\w+ )*-m ([a-z_][a-z0-9_.]*)(?![\w.])", snippet):  # not NAME
            if module not in ("json.tool", "venv", "pip"):
                assert importlib.util.find_spec(module), f"{page.name}: python -m {module}"
        for path in re.findall(r"\b((?:fn|baseline|convert|reference|scripts|deploy|requirements|tests|model)/"
                               r"[\w./-]*\w)", snippet):
            if not re.search(r"[A-Z]{2,}", path):  # NAME: a placeholder
                assert (ROOT / path).exists(), f"{page.name}: {path}"
