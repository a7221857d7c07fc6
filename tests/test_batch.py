"""A bad row does not stop the rest when the user asks (invalid_rows=mark over HTTP,
--invalid-rows mark in fn.batch), every problem names the row's own id beside its line, and the
summary counts priced and refused rows; batch pricing without the training stack: a virtualenv
holding only the serve-time packages, and the function image itself on its read-only root."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from fn.api import csvio
from fn.api.messages import Headers, Request
from fn.record import features
from harness.spreadsheet import NAMES
from harness.spreadsheet import inventory as table

ROOT = Path(__file__).resolve().parent.parent
TYPO = ("4000,0", "4OOO")  # a battery cell mistyped, as a dealer does


def with_typo(rows: int, at: int) -> bytes:
    """table(rows) with row `at` (from 1; CSV line at + 1) carrying TYPO."""
    lines = table(rows).decode().split("\r\n")
    lines[at] = lines[at].replace(*TYPO, 1)
    return "\r\n".join(lines).encode()


def post(plane, body: bytes, query: dict[str, str] | None = None):
    return plane.predict(Request("POST", "/", body, Headers({"content-type": "text/csv"}), query or {}))


def read(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode().removeprefix("\ufeff"), newline=""), delimiter=";"))


def test_by_default_a_bad_row_refuses_the_file_naming_its_line_and_id(plane):
    with pytest.raises(features.ValidationError) as refused:
        post(plane, with_typo(6, 4))
    assert refused.value.message == "1 CSV line is invalid: 5 (A-004)"
    assert refused.value.details == [{"row": 4, "line": 5, "id": "A-004", "field": "battery",
                                      "reason": "must be a number, got '4OOO'"}]


def test_invalid_rows_mark_prices_the_good_rows_and_marks_the_bad_one(plane):
    answer = post(plane, with_typo(6, 4), {"invalid_rows": "mark"})
    assert answer.status == 200
    headers = dict(answer.headers)
    assert (headers[csvio.PRICED_HEADER], headers[csvio.REFUSED_HEADER]) == ("5", "1")
    rows = read(answer.body)
    assert list(rows[0])[-1] == csvio.PROBLEM_COLUMN
    assert [r["problem"] for r in rows] == ["", "", "", "battery: must be a number, got '4OOO'", "", ""]
    assert rows[3]["used_price"] == "" and all(r["used_price"] for i, r in enumerate(rows) if i != 3)
    clean = read(post(plane, table(6)).body)
    assert [r["used_price"] for i, r in enumerate(rows) if i != 3] == [r["used_price"] for i, r in enumerate(clean)
                                                                       if i != 3]


def test_a_row_with_the_wrong_number_of_cells_is_marked_too(plane):
    lines = table(3).decode().split("\r\n")
    lines[2] += ";extra"
    rows = read(post(plane, "\r\n".join(lines).encode(), {"invalid_rows": "mark"}).body)
    width = len(NAMES)
    assert rows[1]["problem"] == f"has {width + 1} cells, expected {width}" and rows[0]["used_price"]
    with pytest.raises(features.ValidationError) as refused:  # by default: refused, naming its line and id
        post(plane, "\r\n".join(lines).encode())
    assert refused.value.details == [{"row": 2, "line": 3, "id": "A-002", "field": None,
                                      "reason": f"has {width + 1} cells, expected {width}"}]


def test_the_id_column_can_be_named_and_a_wrong_one_is_refused(plane):
    text = with_typo(4, 2).decode().replace("Notiz", "Artikel", 1)
    with pytest.raises(features.ValidationError) as refused:
        post(plane, text.encode(), {"id_column": "Artikel"})
    assert refused.value.details[0]["id"] == "Gerät geprüft, Hülle" and refused.value.details[0]["line"] == 3
    with pytest.raises(features.ValidationError) as wrong:
        post(plane, text.encode(), {"id_column": "SKU-Nr"})
    assert wrong.value.details[0]["field"] == "id_column" and "SKU-Nr" in wrong.value.message
    with pytest.raises(features.ValidationError) as bad_option:
        post(plane, text.encode(), {"invalid_rows": "skip"})
    assert bad_option.value.details[0] == {"row": None, "field": "invalid_rows",
                                           "reason": "must be refuse or mark, got 'skip'"}


def test_fn_batch_marks_bad_rows_and_counts_them(tmp_path, plane):
    source = tmp_path / "Inventar.csv"
    source.write_bytes(with_typo(6, 4))
    refused = subprocess.run([sys.executable, "-m", "fn.batch", str(source)], cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode == 2 and refused.stdout == ""
    assert "invalid CSV lines: 5 (A-004); nothing was priced (--invalid-rows mark" in refused.stderr
    assert "line 5 (A-004), battery: must be a number, got '4OOO'" in refused.stderr
    marked = subprocess.run([sys.executable, "-m", "fn.batch", str(source), "--invalid-rows", "mark", "--chunk", "2"],
                            cwd=ROOT, capture_output=True, timeout=120)
    assert marked.returncode == 0, marked.stderr
    assert "priced 5 rows, refused 1 row (lines 5 (A-004))" in marked.stderr.decode()
    assert marked.stdout == post(plane, with_typo(6, 4), {"invalid_rows": "mark"}).body  # the API's bytes


# -- without the training stack ----------------------------------------------------------------

# What a clone needs to install and run the package (no tests, scripts or docs).
PACKAGE = ("pyproject.toml", "fn", "baseline", "convert", "model")


def test_fn_batch_runs_in_a_virtualenv_of_the_serve_time_packages_only(tmp_path):
    """`pip install -e .` without the train extra, as README's "Pricing a CSV" says: numpy,
    tflite-runtime, Waitress and prometheus-client from PyPI, then fn.batch on a German CSV."""
    clone = tmp_path / "device-price"
    clone.mkdir()
    for name in PACKAGE:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, clone / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                           if (ROOT / name).is_dir() else {}))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e",
                              str(clone)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stdout + install.stderr
    installed = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"], capture_output=True,
                               text=True, check=True).stdout.lower()
    for heavy in ("tensorflow", "keras", "scikit-learn", "tqdm", "lightgbm", "pytest"):
        assert f"\n{heavy}==" not in "\n" + installed, heavy
    sent = table(200)
    proc = subprocess.run([str(python), "-m", "fn.batch", "-"], input=sent, capture_output=True, timeout=120,
                          cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert proc.returncode == 0, proc.stderr
    assert b"priced 200 rows" in proc.stderr
    rows = read(proc.stdout)
    assert len(rows) == 200 and all("," in r["used_price"] for r in rows)
    assert proc.stdout.startswith("\ufeff".encode()) and proc.stdout.count(b"\r\n") == 201


@pytest.mark.docker
def test_the_function_image_prices_10000_rows_from_stdin_on_its_read_only_root(fn_image, plane):
    """docker run --rm -i IMAGE batch - < in.csv > out.csv, as docs/api.md shows it: no /tmp, no network."""
    proc = subprocess.run(["docker", "run", "--rm", "-i", "--read-only", "--network", "none", "--cap-drop", "ALL",
                           fn_image, "batch", "-"], input=table(10_000), capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"priced 10000 rows" in proc.stderr and b"Traceback" not in proc.stderr
    lines = proc.stdout.split(b"\r\n")
    assert len(lines) == 10_002 and lines[-1] == b""  # the header, 10,000 rows, CRLF after each
    assert b"\r\n".join(lines[:1001]) + b"\r\n" == post(plane, table(1000)).body  # the first 1,000 as the API


def test_the_image_entrypoint_takes_batch(plane):
    """`python -m fn batch ...` (the image's ENTRYPOINT plus `batch`) is fn.batch; without it, the server."""
    proc = subprocess.run([sys.executable, "-m", "fn", "batch", "-", "--invalid-rows", "mark"], input=with_typo(3, 2),
                          cwd=ROOT, capture_output=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout == post(plane, with_typo(3, 2), {"invalid_rows": "mark"}).body
    served = subprocess.run([sys.executable, "-m", "fn", "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert served.returncode == 0 and "--max-inflight" in served.stdout
