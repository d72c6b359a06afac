"""`wormlab report`: one self-contained HTML file with parameters, summary, figures, validation."""

from __future__ import annotations

import re

import pytest

import wormlab
from wormlab.cli import main
from wormlab.report.html_report import render
from wormlab.report.runset import RunData, RunSet


@pytest.fixture(scope="module")
def result():
    return wormlab.simulate(wormlab.load_scenario("codered-2001-07-19"), seed=3)


def test_report_is_self_contained_and_complete(result, tmp_path, capsys):
    result.to_dir(tmp_path / "run", plot=False)
    out = tmp_path / "report.html"
    assert main(["report", str(tmp_path / "run"), "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    # no network needed: no external URL in any src/href, no script at all
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<script" not in text and "@import" not in text
    assert len(re.findall(r'src="data:image/png;base64,', text)) == 5  # 4 figures and the map
    for section in ("Summary", "Figures", "Validation against the published record", "Scenario parameters"):
        assert f"<h2>{section}</h2>" in text
    assert "internet.vulnerable_hosts" in text and "400,000" in text
    assert f"{result.summary['ever_infected']:,}" in text
    assert "Moore, Shannon, Brown, IMW 2002" in text and 'class="pass"' in text


def test_ensemble_report_gives_quantiles(result):
    other = wormlab.simulate(result.scenario, seed=4)
    text = render(RunSet([RunData.from_result(result), RunData.from_result(other)], "mem", "ensemble"),
                  figures=False)
    assert "median of 2 runs" in text and "5–95%" in text and "an ensemble of 2 runs" in text


def test_organisations_table_when_hosts_carry_them(result):
    run = RunData.from_result(result)
    run.hosts = run.hosts.assign(organisation=["big-isp" if i % 4 else "campus" for i in range(len(run.hosts))])
    text = render(RunSet([run], "mem"), figures=False)
    assert "<h2>Per organisation</h2>" in text and "big-isp" in text and "campus" in text


def test_text_from_data_is_escaped(result):
    run = RunData.from_result(result)
    run.summary = {**run.summary, "scenario": "<b>x</b>"}
    assert "<b>x</b>" not in render(RunSet([run], "mem"), figures=False)


def test_report_bad_input(tmp_path, capsys):
    code = main(["report", str(tmp_path), "-o", str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert code == 2 and "not a run or sweep folder" in err and err.count("\n") == 1
    code = main(["report", str(tmp_path), "-o", str(tmp_path / "r.pdf")])
    err = capsys.readouterr().err
    assert code == 2 and "give a name ending in .html" in err
    code = main(["report", str(tmp_path), "-o", str(tmp_path / "no" / "r.html")])
    assert code == 2 and "cannot write" in capsys.readouterr().err
