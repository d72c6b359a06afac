"""The `wormlab model` and `wormlab fit` commands: their contract and their error paths."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from wormlab.cli import main
from wormlab.models.rcs import rcs_fraction


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_model_rcs_writes_the_documented_csv(tmp_path, capsys):
    out = tmp_path / "rcs.csv"
    code, _, _ = run(capsys, "model", "rcs", "--param", "K=1.33", "--param", "T=9", "--out", str(out))
    assert code == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["t_hours", "infected_fraction"]
    assert frame["t_hours"].iloc[0] == 0.0
    np.testing.assert_allclose(frame["infected_fraction"], rcs_fraction(frame["t_hours"], 1.33, 9.0))
    assert not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize("model, column", [("sir", "removed"), ("two-factor", "ever_infected")])
def test_other_models_add_their_columns(model, column, capsys):
    code, out, _ = run(capsys, "model", model, "--json", "--hours", "10", "--step-hours", "1")
    assert code == 0
    doc = json.loads(out)
    assert doc["model"] == model and doc["time_unit"] == "hours"
    row = doc["series"][0]
    assert {"t_hours", "infected_fraction", column} <= set(row)
    assert len(doc["series"]) == 11


def test_model_then_fit_round_trip_recovers_k(tmp_path, capsys):
    out = tmp_path / "curve.csv"
    run(capsys, "model", "rcs", "--param", "K=2.2", "--param", "T=7", "--out", str(out))
    code, text, _ = run(capsys, "fit", str(out), "--model", "rcs", "--json")
    assert code == 0
    doc = json.loads(text)
    assert doc["params"]["K"]["value"] == pytest.approx(2.2, rel=0.01)
    assert doc["params"]["K"]["low"] <= doc["params"]["K"]["value"] <= doc["params"]["K"]["high"]
    assert doc["goodness_of_fit"]["r2"] > 0.999


def test_fit_reads_a_simulation_timeseries_parquet(tmp_path, capsys):
    times = pd.date_range("2001-07-19T10:00:00Z", periods=14 * 60, freq="min")
    t = np.arange(len(times)) / 60.0
    ever = np.round(380_000 * rcs_fraction(t, 1.4, 9.0))
    frame = pd.DataFrame({
        "time": times, "susceptible": 380_000 - ever, "infected": ever, "patched": 0,
        "ever_infected": ever, "new_infections": np.diff(ever, prepend=0), "probes_sent": 0,
        "flood_packets_to_target": 0,
    })
    path = tmp_path / "timeseries.parquet"
    frame.to_parquet(path)
    code, text, _ = run(capsys, "fit", str(path), "--model", "rcs")
    assert code == 0
    assert "ever_infected" in text and "2001-07-19T10:00:00Z" in text
    assert "2001-07-19T19:00" in text  # T, half of V, as a UTC time
    code, text, _ = run(capsys, "fit", str(path), "--json")
    assert json.loads(text)["params"]["K"]["value"] == pytest.approx(1.4, rel=0.01)


BAD_FILES = {
    "missing.csv": ("t_hours,foo\n0,1\n1,2\n", "no count column"),
    "notime.csv": ("hour,count\n0,1\n1,2\n", "no time column"),
    "backwards.csv": ("t_hours,count\n0,1\n2,3\n1,5\n3,4\n4,5\n5,6\n", "not strictly increasing"),
    "nan.csv": ("t_hours,count\n0,1\n1,\n2,3\n3,4\n4,5\n5,6\n", "NaN at row 2"),
    "few.csv": ("t_hours,count\n0,1\n1,2\n2,3\n", "too few points"),
    "badtime.csv": ("time,count\n2001-07-19T10:00:00Z,1\nlater,2\n", "ISO-8601"),
    "negative.csv": ("t_hours,count\n0,1\n1,-2\n", "negative value"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_fit_bad_input_exits_2_with_one_line(tmp_path, capsys, name):
    text, expected = BAD_FILES[name]
    path = tmp_path / name
    path.write_text(text)
    code, out, err = run(capsys, "fit", str(path), "--model", "rcs")
    assert code == 2 and out == ""
    assert err.startswith("error: ") and expected in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "args, expected",
    [
        (["model", "rcs", "--param", "K=-1"], "K must be a positive"),
        (["model", "rcs", "--param", "K=abc"], "must be a number"),
        (["model", "rcs", "--param", "Z=1"], "no parameter 'Z'"),
        (["model", "two-factor", "--param", "eta=-3"], "eta must be"),
        (["model", "sir", "--param", "I0=1e9"], "smaller than N"),
        (["model", "seir"], "unknown model"),
        (["model", "rcs", "--json", "--out", "x.csv"], "alternatives"),
        (["model", "rcs", "--step-hours", "0"], "step must be positive"),
        (["fit", "nowhere.csv"], "no such file"),
    ],
)
def test_bad_parameters_exit_2(capsys, args, expected):
    code, _, err = run(capsys, *args)
    assert code == 2
    assert expected in err and err.count("\n") == 1
