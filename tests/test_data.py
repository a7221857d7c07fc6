from __future__ import annotations

import csv

import pytest

from convert import data, synthetic

HEADER = ("device_brand,os,screen_size,4g,5g,rear_camera_mp,front_camera_mp,internal_memory,ram,battery,"
          "weight,release_year,days_used,normalized_used_price,normalized_new_price")
ROW = "Honor,Android,14.5,yes,no,13,5,64,3,3020,146,2020,127,4.307572449,4.715100245"


def write(tmp_path, text: str):
    path = tmp_path / "d.csv"
    path.write_text(text)
    return path


def test_real_dataset_loads(dataset):
    """Every row, and an empty cell as a missing value, as the standard library's reader sees the file."""
    records, targets = data.load(dataset)
    with open(dataset, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(records) == len(targets) == len(rows) > 0
    for column in ("rear_camera_mp", "ram", "weight"):
        empty = [i for i, row in enumerate(rows) if row[column] == ""]
        assert empty and [i for i, r in enumerate(records) if r[column] is None] == empty, column
    assert targets == [float(row["normalized_used_price"]) for row in rows]


def test_four_g_spelling_is_accepted(tmp_path):
    path = write(tmp_path, HEADER.replace("4g", "four_g").replace("5g", "five_g") + "\n" + ROW + "\n")
    records, targets = data.load(path)
    assert records[0]["4g"] == 1.0 and records[0]["5g"] == 0.0 and targets == [4.307572449]


@pytest.mark.parametrize("text, expected", [
    ("", "the file is empty"),
    (HEADER.replace(",weight", "") + "\n", "missing column(s) weight"),
    (HEADER + "\n" + ROW.replace(",3020,", ",lots,") + "\n", "row 2, column battery: must be a number"),
    (HEADER + "\n" + ROW + "\n" + ROW.replace(",2020,", ",1800,") + "\n", "row 3, column release_year"),
    (HEADER + "\n" + ROW.replace(",4.307572449,", ",,") + "\n", "row 2, column normalized_used_price"),
    (HEADER + "\n", "no data rows"),
    (HEADER + "\nHonor,Android\n", "row 2: 2 cells"),
])
def test_malformed_files_name_file_row_and_column(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(data.DataError) as e:
        data.load(path)
    assert str(path) in str(e.value) and expected in str(e.value)


def test_unreadable_path_says_how_to_point_at_data(tmp_path):
    with pytest.raises(data.DataError) as e:
        data.load(tmp_path / "missing.csv")
    assert "missing.csv" in str(e.value) and "DEVICE_PRICE_DATA" in str(e.value)


def test_environment_variable_points_at_data(tmp_path, monkeypatch):
    path = synthetic.write_csv(tmp_path / "s.csv", 20)
    monkeypatch.setenv("DEVICE_PRICE_DATA", str(path))
    assert data.find_data() == path and len(data.load()[0]) == 20
