"""CSV in, CSV out, in one place: the inventory over HTTP, the spreadsheets' dialects (the one
reader of the API and fn.batch), errors that name the line, and fn.batch from the command line
(streaming, stdin, never destroying a file)."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import pytest
import requests

from fn.api import csvio
from fn.record import features
from tests.helpers import HTTP, LEVELS, ROOT, inventory

# -- CSV -----------------------------------------------------------------------------------

@pytest.mark.parametrize("target", HTTP)
def test_csv_in_csv_out_in_input_order(request, target):
    url = request.getfixturevalue(target)
    sent = inventory(5)
    r = requests.post(url + "/", data=sent.encode(), headers={"Content-Type": "text/csv"}, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [int(row["days_used"]) for row in rows] == [100, 101, 102, 103, 104]
    assert list(rows[0])[-len(csvio.ANSWER_COLUMNS):] == list(csvio.ANSWER_COLUMNS)
    records = [{"instances": [{k: (float(v) if k not in ("device_brand", "os", "4g", "5g") else v)
                               for k, v in row.items() if k in csvio.ACCEPTED and v != ""} for row in rows]}]
    answers = requests.post(url + "/", json=records[0], timeout=10).json()["predictions"]
    assert [float(row["used_price"]) for row in rows] == [a["used_price"] for a in answers]
    assert "imputed(ram)" in rows[0]["warnings"] and rows[1]["warnings"] == ""


@pytest.mark.parametrize("target", ["fn_url", "baseline_url"])
def test_csv_errors_name_the_line(request, target):
    url = request.getfixturevalue(target)
    lines = inventory(4).splitlines()
    lines[3] = lines[3].replace("Samsung,Android,15.34", "Samsung,Android,big")
    r = requests.post(url + "/", data="\n".join(lines).encode(), headers={"Content-Type": "text/csv"}, timeout=10)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["message"] == "1 CSV line is invalid: 4"
    assert error["details"][0] == {"row": 3, "line": 4, "field": "screen_size", "reason": "must be a number, got 'big'"}
    r = requests.post(url + "/", data=b"brand,os\nx,y\n", headers={"Content-Type": "text/csv"}, timeout=10)
    error = r.json()["error"]
    assert r.status_code == 422 and {"row": None, "line": 1, "field": "device_brand",
                                     "reason": "is a required column"} in error["details"]
    assert ", ".join(csvio.ACCEPTED) in error["message"]  # the valid columns, as fn.batch prints them
    r = requests.post(url + "/", data=inventory(1001).encode(), headers={"Content-Type": "text/csv"}, timeout=10)
    assert r.status_code == 413 and "fn.batch" in r.json()["error"]["message"]


def test_batch_command_streams_a_large_file_like_the_api(tmp_path, plane):
    source = tmp_path / "inventory.csv"
    source.write_text(inventory(2500))
    proc = subprocess.run([sys.executable, "-m", "fn.batch", str(source), "--chunk", "1000"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "priced 2500 rows" in proc.stderr and "blank" not in proc.stderr
    assert "2500/2500" in proc.stderr  # the progress bar
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert len(rows) == 2500 and [int(r["days_used"]) for r in rows[998:1002]] == [1098, 1099, 1100, 1101]
    table, cells, records, _ = csvio.parse(inventory(1000), 1000)
    expected = csvio.rows(table.names, cells, plane.predictions(records, True))
    assert proc.stdout.startswith(expected)


def test_batch_command_refuses_a_bad_file_naming_lines(tmp_path):
    lines = inventory(1500).splitlines()
    lines[1201] = lines[1201].replace(",yes,no,", ",maybe,no,")
    source = tmp_path / "bad.csv"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.csv"
    proc = subprocess.run([sys.executable, "-m", "fn.batch", str(source), "-o", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "invalid CSV lines: 1202" in proc.stderr and "line 1202, 4g" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- CSV as spreadsheets write it (the one reader of the API and fn.batch) -------------------

def post_csv(plane, text: str | bytes, query: dict[str, str] | None = None, kind: str = "text/csv"):
    """The data plane's answer to a CSV body (a ClientError raised as the HTTP layer gets it)."""
    from fn.api.messages import Headers, Request
    body = text.encode() if isinstance(text, str) else text
    return plane.predict(Request("POST", "/", body, Headers({"content-type": kind}), query or {}))


def spreadsheet(sep: str = ",", extra: bool = True) -> str:
    """inventory(3) as a spreadsheet saves it: a SKU column first, notes last, a blank row and an empty line."""
    rows = list(csv.reader(io.StringIO(inventory(3))))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\n")
    for i, row in enumerate(rows):
        writer.writerow((["sku"] + row + ["notes"] if i == 0 else [f"A{i}"] + row + ["fine; boxed, \"mint\""])
                        if extra else row)
        if i == 1:
            writer.writerow([""] * (len(row) + 2 * extra))  # ,,,,,
            out.write("\n")
    return out.getvalue()


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_csv_separator_sniffed_blank_rows_counted_extra_columns_carried(plane, sep):
    r = post_csv(plane, spreadsheet(sep))
    assert r.status == 200 and dict(r.headers)[csvio.BLANK_ROWS_HEADER] == "2"
    rows = list(csv.reader(io.StringIO(r.body.decode()), delimiter=sep))
    assert rows[0][0] == "sku" and rows[0][-len(csvio.ANSWER_COLUMNS) - 1] == "notes"
    assert [row[0] for row in rows[1:]] == ["A1", "A2", "A3"]
    assert {row[-len(csvio.ANSWER_COLUMNS) - 1] for row in rows[1:]} == {"fine; boxed, \"mint\""}
    plain = list(csv.reader(io.StringIO(post_csv(plane, spreadsheet(extra=False)).body.decode())))
    assert [row[-6] for row in rows[1:]] == [row[-6] for row in plain[1:]]  # the same prices


@pytest.mark.parametrize("cell, words", [
    ("big", "must be a number, got 'big'"),
    ("3,020", "without thousands separators"),
    ("$111.62", "without a currency symbol"),
    ("15,34", "decimal comma"),
    ("x" * 100, repr("x" * 40 + "…")),  # quoted, clipped to 40 characters
])
def test_a_csv_cell_that_is_no_number_is_quoted_with_its_row_and_line(plane, cell, words):
    rows = list(csv.reader(io.StringIO(inventory(3))))
    rows[2][rows[0].index("battery") if "battery" in rows[0] else 2] = cell
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows[:2] + [[""] * len(rows[0])] + rows[2:])  # a blank row first
    with pytest.raises(features.ValidationError) as e:
        post_csv(plane, out.getvalue())
    (problem,) = e.value.details
    assert problem["row"] == 2 and problem["line"] == 4 and words in problem["reason"]
    assert e.value.message == "1 CSV line is invalid: 4"


def test_csv_header_near_miss_refused_and_explain_refused(plane):
    text = inventory(1).replace("screen_size", "Screen Size", 1)
    with pytest.raises(features.ValidationError) as e:
        post_csv(plane, text)
    assert e.value.details[0]["reason"] == "is not a column; did you mean screen_size?"
    with pytest.raises(features.ValidationError) as e:
        post_csv(plane, inventory(1), {"explain": "true"})
    assert e.value.details[0]["field"] == "explain"
    priced = list(csv.DictReader(io.StringIO(post_csv(plane, inventory(1), {"level": f"{LEVELS[0]:g}"}).body.decode())))
    assert priced[0]["range_level"] == f"{LEVELS[0]:g}"


@pytest.mark.parametrize("kind", ["application/x-www-form-urlencoded", "application/csv",
                                  "multipart/form-data; boundary=x"])
def test_a_csv_body_sent_as_something_else_is_told_to_send_text_csv(plane, kind):
    from fn.api.errors import BadRequest
    body = inventory(2).replace("\n", "") if kind.startswith("application/x") else inventory(2)  # curl -d drops newlines
    if kind.startswith("multipart"):
        body = f"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"i.csv\"\r\n\r\n{body}\r\n--x--\r\n"
    with pytest.raises(BadRequest) as e:
        post_csv(plane, body, kind=kind)
    assert "Content-Type: text/csv" in e.value.message and "not valid JSON" not in e.value.message


def test_csv_not_utf8_names_the_encoding(plane):
    from fn.api.errors import BadRequest
    with pytest.raises(BadRequest, match="not UTF-8.*CSV UTF-8"):
        post_csv(plane, inventory(1).replace("Samsung", "Sämsung").encode("cp1252"))


# -- fn.batch keeps the user's files --------------------------------------------------------

def batch(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fn.batch", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, input=stdin)


def test_batch_never_destroys_a_file(tmp_path):
    source = tmp_path / "inventory.csv"
    source.write_text(inventory(3))
    proc = batch(str(source), "-o", str(source))
    assert proc.returncode == 2 and "is the input" in proc.stderr and source.read_text() == inventory(3)
    (tmp_path / "link.csv").symlink_to(source)
    assert batch(str(tmp_path / "link.csv"), "-o", str(source)).returncode == 2
    out = tmp_path / "priced.csv"
    assert batch(str(source), "-o", str(out)).returncode == 0
    good = out.read_text()
    assert good.splitlines()[0].endswith(",warnings") and len(good.splitlines()) == 4
    assert out.stat().st_mode & 0o777 == source.stat().st_mode & 0o777  # not the temporary file's 0600
    bad = tmp_path / "bad.csv"
    bad.write_text(inventory(3).replace(",yes,no,", ",maybe,no,"))
    proc = batch(str(bad), "-o", str(out))
    assert proc.returncode == 2 and "nothing was priced" in proc.stderr
    assert out.read_text() == good, "a failed run changed an earlier output"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_batch_reads_stdin_and_speaks_as_run(tmp_path):
    proc = batch("-", stdin=spreadsheet(";"))
    assert proc.returncode == 0, proc.stderr
    assert "priced 3 rows; skipped 2 blank rows" in proc.stderr and proc.stdout.startswith("sku;device_brand;")
    helped = batch("--help").stdout
    assert helped.startswith("usage: python -m fn.batch") and "batch.py" not in helped
    from fn import batch as command
    unhelped = [a.dest for a in command.parser()._actions if not a.help]
    assert unhelped == [], f"flags without help: {unhelped}"
    proc = batch("-", "--level", "0.95", stdin=inventory(1))
    assert proc.returncode == 2 and "level: must be one of" in proc.stderr and "None" not in proc.stderr
    cp1252 = tmp_path / "excel.csv"
    cp1252.write_bytes(inventory(1).replace("Samsung", "Sämsung").encode("cp1252"))
    proc = batch(str(cp1252))
    assert proc.returncode == 2 and "is not UTF-8" in proc.stderr and "CSV UTF-8" in proc.stderr
    assert "codec" not in proc.stderr and "Traceback" not in proc.stderr
