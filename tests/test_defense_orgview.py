"""The organisation's view: the per-organisation table agrees with the hosts of each
organisation, `run --org` prints one organisation's summary and writes orgs.parquet, bad names
are one-line errors (exit 2); and the quarantine-study sweep runs (a tiny version)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
from conftest import TINY_TOML, tiny_dict
from sweep_support import cli_in_process

from wormlab.cli import main
from wormlab.defenses.org_view import org_hosts, org_summary, org_table
from wormlab.engine.simulate import simulate
from wormlab.scenario import scenario_from_dict

NETWORK = {"organisations": [{"name": "sss", "type": "isp_customer", "host_share": 0.1}]}
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "quarantine-study.sweep.toml"


def networked(defenses=()):
    return scenario_from_dict(tiny_dict(network=NETWORK, defenses=list(defenses)), origin="test")


def test_org_table_counts_the_hosts_of_each_organisation():
    res = simulate(networked(), seed=1)
    table = org_table(res).set_index("organisation")
    assert table["hosts"].sum() == len(res.hosts)
    assert table["ever_infected"].sum() == res.summary["ever_infected"]
    mine = org_hosts(res, "sss")
    row = table.loc["sss"]
    assert row["hosts"] == mine.sum() == 300
    assert row["ever_infected"] == res.hosts["infected_at"][mine].notna().sum() > 0
    assert row["infected_at_end"] == (res.hosts["state"][mine] == "infected").sum()
    seeds = (res.hosts["infected_by"][mine] < 0) & res.hosts["infected_at"][mine].notna()
    assert row["infected_from_outside"] + row["infected_from_inside"] + seeds.sum() == row["ever_infected"]
    assert row["first_infected_at"] == res.hosts["infected_at"][mine].min()


def test_org_summary_says_which_defences_helped():
    sc = networked([{"kind": "ingress_filter", "organisations": ["sss"], "label": "sss ingress"},
                    {"kind": "throttle", "fraction": 0.01, "label": "tiny throttle"}])
    res = simulate(sc, seed=0)
    text = org_summary(res, "sss")
    first, *rest = text.splitlines()
    assert first.startswith("sss (isp_customer, AS")
    ingress = next(line for line in rest if "sss ingress" in line)
    assert "helped" in ingress  # inbound port 80 blocked: far fewer of its hosts infected
    assert any("tiny throttle" in line for line in rest)
    last = rest[-1].split()
    assert int(last[-2].replace(",", "")) == int(org_table(res).set_index("organisation").loc["sss", "ever_infected"])


def test_run_org_prints_the_summary_and_writes_orgs_parquet(tmp_path, capsys):
    toml = tmp_path / "net.toml"
    toml.write_text(TINY_TOML + '[network]\norganisations = [ { name = "sss", type = "isp_customer", host_share = 0.1 } ]\n')
    out = tmp_path / "run"
    assert main(["run", str(toml), "--out", str(out), "--org", "sss", "--no-plot", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["ever_infected"] > 0  # stdout stays JSON; the view goes to stderr
    assert "sss (isp_customer" in captured.err and "defences: none" in captured.err
    orgs = pd.read_parquet(out / "orgs.parquet")
    assert orgs.loc[orgs["organisation"] == "sss", "hosts"].item() == 300
    plain = tmp_path / "plain"
    assert main(["run", str(toml), "--out", str(plain), "-q", "--no-plot",
                 "--set", "network.seed=7"]) == 0
    assert (plain / "orgs.parquet").is_file()


def test_no_orgs_parquet_without_a_network(tiny_toml, tmp_path):
    assert main(["run", str(tiny_toml), "--out", str(tmp_path / "r"), "-q", "--no-plot"]) == 0
    assert not (tmp_path / "r" / "orgs.parquet").exists()


def test_unknown_org_is_a_one_line_error_before_the_run(tiny_toml, tmp_path):
    code, out, err = cli_in_process("run", str(tiny_toml), "--out", str(tmp_path / "r"), "--org", "nosuch")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "nosuch" in err
    assert not (tmp_path / "r").exists()
    code, _, err = cli_in_process("run", str(tiny_toml), "--runs", "2", "--org", "enterprise-1")
    assert code == 2 and "--org" in err


def test_quarantine_study_sweep_runs_a_tiny_version(tmp_path):
    sweep = tomllib.loads(EXAMPLE.read_text())
    grid = sweep["grid"]
    assert set(grid["defenses[0].kind"]) == {"content_filter", "address_blacklist"}
    assert set(grid["defenses[0].deploy"]) == {"top", "customers"}
    assert len(grid["defenses[0].reaction_s"]) >= 3
    text = EXAMPLE.read_text().replace("runs_per_point = 3", "runs_per_point = 1")
    text = text.replace("[0].reaction_s\" = [600.0, 1800.0, 3600.0, 7200.0, 14400.0]", "[0].reaction_s\" = [600.0]")
    text += '\n[set]\n"internet.vulnerable_hosts" = 20000\n"time.end" = 2001-07-19T12:00:00Z\n'
    (tmp_path / "SWEEP.toml").write_text(text)
    code, _, err = cli_in_process("sweep", "SWEEP.toml", "--workers", "1", "--out", "out", "-q", cwd=tmp_path)
    assert code == 0, err
    summaries = pd.concat(pd.read_parquet(p) for p in sorted((tmp_path / "out" / "summaries").glob("*.parquet")))
    assert len(summaries) == 4
    assert set(summaries["defenses_0_kind"]) == {"content_filter", "address_blacklist"}
    assert np.all(summaries["ever_infected"] >= 10)
