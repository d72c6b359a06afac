"""The run/scenarios/show commands and their error paths, in-process and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from wormlab.cli import main

SUMMARY_KEYS = {"scenario", "seed", "ever_infected", "peak_new_infections_per_minute", "peak_time",
                "hourly", "probes_total", "wall_seconds"}


def test_run_writes_results_and_prints_a_summary(tiny_toml, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(tiny_toml), "--seed", "3", "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"timeseries.parquet", "hosts.parquet", "summary.json", "infection.png", "scenario.json"} <= names
    assert not any(n.endswith(".part") for n in names)
    printed = capsys.readouterr().out
    assert "ever infected" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert SUMMARY_KEYS <= summary.keys()
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert list(ts.columns[:8]) == ["time", "susceptible", "infected", "patched", "offline",
                                    "ever_infected", "new_infections", "probes_sent"]
    assert "flood_packets_to_target" in ts.columns
    assert str(ts["time"].dt.tz) == "UTC" and len(ts) == 61
    assert summary["ever_infected"] == ts["ever_infected"].iloc[-1]
    hosts = pd.read_parquet(out / "hosts.parquet")
    assert {"address", "state", "infected_at", "infected_by"} <= set(hosts.columns)
    assert (out / "infection.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_json_follows_the_summary_contract(tiny_toml, tmp_path, capsys):
    assert main(["run", str(tiny_toml), "--json", "--quiet", "--out", str(tmp_path / "o"),
                 "--set", "worm.probe_rate_per_s=3"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert SUMMARY_KEYS <= summary.keys()
    assert summary["hourly"][0] == {"time": "2001-07-19T10:00:00Z", "ever_infected": 5, "infected": 5}
    assert summary["hourly"][-1]["time"] == "2001-07-19T11:00:00Z"
    assert summary["peak_time"].endswith("Z")
    scenario = json.loads((tmp_path / "o" / "scenario.json").read_text())
    assert scenario["worm"]["probe_rate_per_s"] == 3


def test_default_out_dir_is_named_after_scenario_and_seed(tiny_toml, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(tiny_toml), "--seed", "4", "--quiet", "--no-plot"]) == 0
    assert (tmp_path / "runs" / "tiny-seed4" / "summary.json").is_file()


def test_scenarios_lists_and_show_prints_the_builtin(capsys):
    assert main(["scenarios"]) == 0
    assert "codered-2001-07-19" in capsys.readouterr().out
    assert main(["show", "codered-2001-07-19"]) == 0
    text = capsys.readouterr().out
    assert 'name = "codered-2001-07-19"' in text and "198.137.240.91" in text


BAD = [
    ("[worm]\nprobe_rate_per_s = 2.0\ninitial_infected = 5\nprobe_rat = 1", "worm.probe_rat", "unknown key"),
    ("[worm]\nprobe_rate_per_s = \"fast\"\ninitial_infected = 5", "worm.probe_rate_per_s", "number"),
    ("[worm]\nprobe_rate_per_s = -2.0\ninitial_infected = 5", "worm.probe_rate_per_s", "greater than 0"),
]


@pytest.mark.parametrize("worm, key, words", BAD)
def test_invalid_scenarios_get_one_line_naming_file_and_key(tmp_path, capsys, worm, key, words):
    from tests.conftest import TINY_TOML

    text = TINY_TOML.split("[worm]")[0] + worm + "\n"
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert str(path) in err and key in err and words in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("override, words", [
    ("time.end=2001-07-19T09:00:00Z", "end must be after start"),
    ("internet.vulnerable_hosts=2000000", "routable addresses"),
    ("internet.address_bits=32", None),
    ("worm.initial_infected=0", "greater than or equal to 1"),
    ("worm", "expected KEY=VALUE"),
])
def test_bad_overrides(tiny_toml, tmp_path, capsys, override, words):
    code = main(["run", str(tiny_toml), "--quiet", "--no-plot", "--out", str(tmp_path / "o"), "--set", override])
    if words is None:
        assert code == 0
        return
    assert code == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_memory_limit_is_checked_before_running(capsys):
    assert main(["run", "codered-2001-07-19", "--set", "internet.vulnerable_hosts=1500000000"]) == 2
    assert "GiB" in capsys.readouterr().err


def test_unknown_scenario_lists_the_known_ones(capsys):
    assert main(["run", "codered-2001-07-91"]) == 2
    err = capsys.readouterr().err
    assert "unknown scenario" in err and "codered-2001-07-19" in err


def test_missing_file_and_bad_toml(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.toml")]) == 2
    assert "no such scenario file" in capsys.readouterr().err
    bad = tmp_path / "broken.toml"
    bad.write_text("name = \n")
    assert main(["run", str(bad)]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_interrupted_write_leaves_no_half_file(tiny_toml, tmp_path, monkeypatch):
    out = tmp_path / "o"

    def boom(self, path, **kw):
        Path(path).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    assert main(["run", str(tiny_toml), "--quiet", "--out", str(out)]) == 130
    assert list(out.iterdir()) == []


def test_subprocess_errors_have_no_traceback_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "wormlab", "run", "nope"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: unknown scenario") and "Traceback" not in proc.stderr
    helped = subprocess.run([sys.executable, "-m", "wormlab", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "run" in helped.stdout


def test_calibrate_reports_every_check_against_its_source(capsys):
    code = main(["calibrate", "--runs", "2", "--json"])
    out = json.loads(capsys.readouterr().out)
    rows = out["rows"]
    assert len(rows) == 6 and out["runs"] == 2
    for row in rows:
        assert row["source"] and row["observed"]
        assert row["simulated_min"] <= row["simulated_median"] <= row["simulated_max"]
    assert code == (0 if all(r["passed"] for r in rows) else 1)
    by_name = {r["quantity"]: r for r in rows}
    assert by_name["new infections after 00:00 UTC 20 July"]["simulated_max"] == 0


def test_usage_errors_are_one_line_with_exit_2(capsys):
    assert main(["run", "codered-2001-07-19", "--seed", "-1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--seed" in err
    assert main(["run", "codered-2001-07-19", "--no-such-flag"]) == 2
    assert "no-such-flag" in capsys.readouterr().err
