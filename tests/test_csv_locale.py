"""Spreadsheets as European locales write them: the decimal mark taken from the file itself, the
priced file written back the way it came (separator, decimal mark, BOM, line endings), over HTTP
and from fn.batch alike; and opened in a real spreadsheet program, LibreOffice in German, whose
cells read back as numbers and text (REQUIRE_LIBREOFFICE=1 turns its skip into a failure)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fn.api import csvio
from fn.api.csvformat import BOM, Format
from fn.api.messages import Headers, Request
from fn.record import features
from harness.spreadsheet import GERMAN, NAMES
from harness.spreadsheet import inventory as table

ROOT = Path(__file__).resolve().parent.parent
def post(plane, body: bytes, query: dict[str, str] | None = None):
    return plane.predict(Request("POST", "/", body, Headers({"content-type": "text/csv"}), query or {}))


def cells(body: bytes, fmt: Format) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith(BOM) == fmt.bom
    return list(csv.reader(io.StringIO(text.removeprefix(BOM), newline=""), delimiter=fmt.separator))


def test_a_german_file_is_priced_and_written_back_as_it_came(plane):
    sent = table(4)
    answer = post(plane, sent)
    assert answer.status == 200
    body = answer.body
    assert body.startswith(b"\xef\xbb\xbf") and body.count(b"\r\n") == 5 and body.count(b"\n") == 5
    rows = cells(body, GERMAN)
    assert rows[0] == NAMES + list(csvio.ANSWER_COLUMNS)
    assert [r[:len(NAMES)] for r in rows[1:]] == cells(sent, GERMAN)[1:]  # the input as sent
    english = Format()
    same = cells(post(plane, table(4, english)).body, english)
    for de, en in zip(rows[1:], same[1:], strict=True):
        assert de[len(NAMES):-1] == [v.replace(".", ",") for v in en[len(NAMES):-1]]  # the same prices, in its mark
        assert "," in de[len(NAMES)] and "." not in de[len(NAMES)]


def test_fn_batch_writes_the_same_bytes_as_the_api(plane, tmp_path):
    sent = table(5)
    source = tmp_path / "Inventar.csv"
    source.write_bytes(sent)
    out = tmp_path / "bepreist.csv"
    for args, stdin in (([str(source), "-o", str(out)], None), (["-"], sent)):
        proc = subprocess.run([sys.executable, "-m", "fn.batch", *args], cwd=ROOT, input=stdin, capture_output=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert (out.read_bytes() if stdin is None else proc.stdout) == post(plane, sent).body


@pytest.mark.parametrize("sep, written, whole, read", [
    (";", ",", False, ","),  # decimal commas only
    (";", ".", False, "."),  # decimal points only, with `;`
    (";", ".", True, ","),  # no decimals: Excel writes `;` where the comma is the decimal mark
    ("\t", ",", False, ","),
    ("\t", ".", True, "."),
    (",", ".", False, "."),
])
def test_the_decimal_mark_is_the_files_own(plane, sep, written, whole, read):
    fmt = Format(sep, written)
    sent = table(2, fmt, whole)
    t = csvio.open_table(io.StringIO(sent.decode(), newline=""))
    assert (t.format.separator, t.format.decimal, t.format.mixed) == (sep, read, None)
    assert next(csvio.chunks(t, 10)).records[0]["screen_size"] == (15 if whole else 15.34)
    priced = cells(post(plane, sent).body, Format(sep, read))
    assert all(read in row[len(NAMES)] and ({".", ","} - {read}).isdisjoint(row[len(NAMES)]) for row in priced[1:])


def test_a_file_writing_both_marks_stays_ambiguous_and_its_commas_are_refused(plane):
    lines = table(3).decode().split("\r\n")
    lines[2] = lines[2].replace(";15,34;", ";15.34;")  # line 3 writes a point where the others write commas
    with pytest.raises(features.ValidationError) as refused:
        post(plane, "\r\n".join(lines).encode())
    message = refused.value.message
    assert message.startswith("3 CSV lines are invalid: 2 (A-001), 3 (A-002), 4 (A-003);")
    assert "both decimal points (line 3: '15.34') and decimal commas (line 2: '15,34')" in message
    refused_cells = {(d["id"], d["field"]) for d in refused.value.details}
    assert ("A-001", "screen_size") in refused_cells and ("A-002", "screen_size") not in refused_cells
    assert ("A-002", "weight") in refused_cells  # '180,0': every decimal comma of the file


def test_a_comma_file_keeps_refusing_a_decimal_comma(plane):
    """In a `,` file "15,34" may as well be 1534 with a thousands separator: refused, as before."""
    text = table(1, Format()).decode().replace(",15.34,", ",\"15,34\",")
    with pytest.raises(features.ValidationError, match="decimal comma"):
        post(plane, text.encode())


# -- LibreOffice, in German ------------------------------------------------------------------

NS = {"table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
      "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0"}
# LibreOffice's CSV import as its dialog sets it in a German locale: `;`, '"', UTF-8, from line 1,
# no column types, language de-DE (1031), quoted cells as text off, special numbers detected.
GERMAN_IMPORT = "Text - txt - csv (StarCalc):59,34,76,1,,1031,false,true"


def soffice() -> str:
    exe = shutil.which("soffice")
    if exe is None:
        if os.environ.get("REQUIRE_LIBREOFFICE") == "1":
            pytest.fail("REQUIRE_LIBREOFFICE=1 but soffice is not installed (apt-get install libreoffice-calc-nogui)")
        pytest.skip("LibreOffice (soffice) is not installed")
    return exe


def opened(path: Path, tmp_path: Path) -> list[list[tuple[str | None, str]]]:
    """The file as LibreOffice Calc opens it in German: each cell's (value type, value or text)."""
    proc = subprocess.run([soffice(), "--headless", "--norestore", "--convert-to", "fods",
                           f"--infilter={GERMAN_IMPORT}", "--outdir", str(tmp_path / "out"), str(path)],
                          env={**os.environ, "HOME": str(tmp_path / "home"), "LANG": "de_DE.UTF-8", "LC_ALL": "de_DE.UTF-8"},
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    sheet = ET.parse(tmp_path / "out" / (path.stem + ".fods"))
    rows = []
    for row in sheet.iterfind(".//table:table-row", NS):
        values = []
        for cell in row.iterfind("table:table-cell", NS):
            kind = cell.get(f"{{{NS['office']}}}value-type")
            value = cell.get(f"{{{NS['office']}}}value") if kind == "float" else "".join(cell.itertext()).strip()
            repeated = int(cell.get(f"{{{NS['table']}}}number-columns-repeated", "1"))
            values += [(kind, value)] * min(repeated, 100)  # the row's empty tail is one repeated cell
        while values and values[-1][0] is None:
            values.pop()
        rows.append(values)
    return [r for r in rows if r]


def test_libreoffice_in_german_reads_the_priced_file_as_numbers_and_text(plane, tmp_path):
    priced = tmp_path / "bepreist.csv"
    priced.write_bytes(post(plane, table(3)).body)
    sheet = opened(priced, tmp_path)
    assert [text for _, text in sheet[0]] == NAMES + list(csvio.ANSWER_COLUMNS)  # the BOM is no character
    expected = cells(priced.read_bytes(), GERMAN)
    for got, sent in zip(sheet[1:], expected[1:], strict=True):
        by_name = dict(zip(NAMES + list(csvio.ANSWER_COLUMNS), got, strict=False))
        assert by_name["id"] == ("string", sent[0]) and by_name["Notiz"] == ("string", "Gerät geprüft, Hülle")
        assert by_name["screen_size"] == ("float", "15.34")
        for name in csvio.ANSWER_COLUMNS[:-1]:  # the prices, the level and the fraction: numbers
            kind, value = by_name[name]
            assert kind == "float" and float(value) == float(sent[NAMES.index("Notiz") + 1 +
                                                                  csvio.ANSWER_COLUMNS.index(name)].replace(",", "."))
    # The control: the same answers with decimal points, as the reader wrote them before, are no numbers here.
    points = priced.read_bytes().decode()
    for row in expected[1:]:
        for value in row[len(NAMES):-1]:
            points = points.replace(value, value.replace(",", "."), 1)
    (tmp_path / "points.csv").write_text(points, newline="")
    wrong = opened(tmp_path / "points.csv", tmp_path)
    price = wrong[1][len(NAMES)]
    assert price != ("float", expected[1][len(NAMES)].replace(",", ".")), price
