"""`wormlab plot`, the figures and the IPv4 Hilbert map: what they draw and how they fail."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import wormlab
from wormlab.cli import main
from wormlab.report import hilbert
from wormlab.report.figures import defence_markers, figure
from wormlab.report.runset import load_runs

SCENARIO = "codered-2001-07-19"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One calibrated Code Red run (about 0.2 s once the kernel is compiled)."""
    out = tmp_path_factory.mktemp("run") / "r1"
    wormlab.simulate(wormlab.load_scenario(SCENARIO), seed=1).to_dir(out)
    return out


@pytest.fixture(scope="module")
def ensemble_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("ensemble")
    sc = wormlab.load_scenario(SCENARIO, overrides=["time.end=2001-07-20T02:00:00Z"])
    for seed in (1, 2, 3):
        wormlab.simulate(sc, seed=seed).to_dir(root / f"seed{seed}", plot=False)
    return root


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("kind", ["infection", "rate", "traffic", "flood", "map"])
def test_every_kind_writes_a_png(run_dir, tmp_path, capsys, kind):
    out = tmp_path / f"{kind}.png"
    code, stdout, _ = run(capsys, "plot", str(run_dir), "-o", str(out), "--kind", kind)
    assert code == 0 and str(out) in stdout
    with Image.open(out) as img:
        assert img.format == "PNG" and img.width >= 1000
        assert len(np.unique(np.asarray(img.convert("L")))) > 10  # something was drawn


@pytest.mark.parametrize("suffix, magic", [("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_vector_formats(run_dir, tmp_path, capsys, suffix, magic):
    out = tmp_path / f"rate.{suffix}"
    assert run(capsys, "plot", str(run_dir), "-o", str(out), "--kind", "rate")[0] == 0
    assert out.read_bytes().startswith(magic)
    if suffix == "svg":
        assert "time (UTC)" in out.read_text() and "new infections per minute" in out.read_text()


def test_infection_figure_overlays_history_and_marks_defences(run_dir):
    import matplotlib.pyplot as plt

    fig = figure(load_runs(run_dir), "infection")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(lab.startswith("patch rate 0.025/h") for lab in labels)
    assert any(lab.startswith("worm: flood") for lab in labels)
    observed = [line for line in ax.get_lines() if line.get_marker() == "^"]
    assert sorted(float(line.get_ydata()[0]) for line in observed) == [250_000.0, 359_000.0]
    assert ax.get_xlabel() == "time (UTC)" and ax.get_ylabel() == "hosts"
    plt.close(fig)


def test_defence_markers_follow_the_scenario():
    sc = wormlab.load_scenario(SCENARIO, overrides={
        "hosts.patch_schedule": [{"from": "2001-07-19T10:00:00Z", "rate_per_h": 0.0},
                                 {"from": "2001-07-19T12:30:00Z", "rate_per_h": 0.5}]})
    marks = defence_markers(sc, pd.Timestamp(sc.time.start), pd.Timestamp(sc.time.end))
    assert [(m.time.isoformat(), m.label) for m in marks] == [
        ("2001-07-19T12:30:00+00:00", "patch rate 0.5/h"),
        ("2001-07-20T00:00:00+00:00", "worm: flood (day 20)"),
    ]


def test_ensemble_draws_a_median_and_band(ensemble_dir, tmp_path, capsys):
    import matplotlib.pyplot as plt

    runset = load_runs(ensemble_dir)
    assert runset.kind == "ensemble" and len(runset.runs) == 3
    fig = figure(runset, "infection")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "ever infected: 5–95% of 3 runs" in labels and "ever infected (median)" in labels
    median = next(line for line in fig.axes[0].get_lines() if line.get_label() == "ever infected (median)")
    finals = sorted(int(r.timeseries["ever_infected"].iloc[-1]) for r in runset.runs)
    assert median.get_ydata()[-1] == finals[1]
    plt.close(fig)
    assert run(capsys, "plot", str(ensemble_dir), "-o", str(tmp_path / "e.png"))[0] == 0


def test_map_counts_match_the_time_series(run_dir):
    runset = load_runs(run_dir)
    ts = runset.first.timeseries
    row = ts.iloc[420]  # 17:00 UTC, mid-outbreak
    vulnerable, infected = hilbert.block_counts(runset.hosts, row["time"])
    assert vulnerable.sum() == runset.first.summary["vulnerable_hosts"]
    assert infected.sum() == row["ever_infected"]
    assert (infected <= vulnerable).all()
    rgb = hilbert.map_rgb(vulnerable, infected)
    x, y = hilbert.hilbert_xy(8)
    empty = np.flatnonzero(vulnerable == 0)
    assert (rgb[y[empty], x[empty]] == hilbert.EMPTY_RGB.astype(np.uint8)).all()
    # 10.0.0.0/8 is reserved, so its 16x16 square holds no host
    assert vulnerable[10 * 256:11 * 256].sum() == 0


def test_hilbert_layout_is_the_classic_map():
    x, y = hilbert.hilbert_xy(8)
    assert len(set(zip(x.tolist(), y.tolist()))) == 65536  # every pixel once
    assert (np.abs(np.diff(x)) + np.abs(np.diff(y)) == 1).all()  # neighbours stay neighbours
    for octet in (0, 24, 128, 255):  # each /8 fills a 16x16 square
        xs, ys = x[octet * 256:(octet + 1) * 256], y[octet * 256:(octet + 1) * 256]
        assert xs.max() - xs.min() == 15 and ys.max() - ys.min() == 15
    assert hilbert.block_of(np.array([0x0A0B0C0D], dtype=np.uint32))[0] == 0x0A0B


def test_map_animation_is_a_gif_with_frames(run_dir, tmp_path, capsys):
    out = tmp_path / "map.gif"
    code, _, _ = run(capsys, "plot", str(run_dir), "-o", str(out), "--kind", "map", "--frames", "6")
    assert code == 0
    with Image.open(out) as img:
        assert img.format == "GIF" and img.n_frames == 6 and img.size == (512, 512)


def test_map_at_a_chosen_time(run_dir, tmp_path, capsys):
    out = tmp_path / "map.png"
    code, _, err = run(capsys, "plot", str(run_dir), "-o", str(out), "--kind", "map", "--at", "2001-07-19T17:00Z")
    assert code == 0, err
    code, _, err = run(capsys, "plot", str(run_dir), "-o", str(out), "--kind", "map", "--at", "yesterday-ish")
    assert code == 2 and err.startswith("error: --at")


def test_bad_input_is_one_line_and_exit_2(run_dir, tmp_path, capsys):
    cases = [
        (("plot", str(tmp_path), "-o", str(tmp_path / "x.png")), "not a run or sweep folder"),
        (("plot", str(tmp_path / "nope"), "-o", str(tmp_path / "x.png")), "no such folder"),
        (("plot", str(run_dir), "-o", str(tmp_path / "x.png"), "--kind", "pie"), "unknown --kind 'pie'"),
        (("plot", str(run_dir), "-o", str(tmp_path / "missing" / "x.png")), "cannot write"),
        (("plot", str(run_dir), "-o", str(tmp_path / "x.jpg")), "unknown figure format"),
        (("plot", str(run_dir), "-o", str(tmp_path / "x.gif")), "unknown figure format"),
    ]
    for args, message in cases:
        code, _, err = run(capsys, *args)
        assert code == 2, args
        assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert not list(tmp_path.glob("x.*"))


def test_run_writes_the_new_infection_png(run_dir):
    with Image.open(run_dir / "infection.png") as img:
        assert img.format == "PNG" and img.height > img.width * 0.6
