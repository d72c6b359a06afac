"""Traffic derived after the run (wormlab.defenses.traffic): the host-table estimate agrees with
the kernel's probe and flood counts, the split by AS adds up, congestion (saturation) shows as a
factor below one, and `wormlab traffic` reads a run folder."""

from __future__ import annotations

import numpy as np
from conftest import tiny_dict

from wormlab.cli import main
from wormlab.defenses.traffic import traffic, traffic_by_as
from wormlab.engine.simulate import simulate
from wormlab.scenario import scenario_from_dict


def run(seed=0, **sections):
    return simulate(scenario_from_dict(tiny_dict(**sections), origin="test"), seed=seed)


def test_host_table_estimate_matches_the_kernels_probe_count():
    """Within 1% without reboots; with frequent reboots (2 h uptime) re-infection gaps are counted
    as scanning, so the estimate is high, but by less than 5%."""
    for seed in (0, 1):
        for uptime_h, low, high in ((0.0, 0.99, 1.01), (2.0, 1.0, 1.05)):
            res = run(seed, hosts={"mean_uptime_h": uptime_h})
            estimate = traffic(res, scale=False)["nominal_scan_packets_per_s"].sum() * 60.0
            kernel = res.timeseries["probes_sent"].sum()
            assert kernel > 100_000
            assert low < estimate / kernel < high, (seed, uptime_h, estimate, kernel)


def test_scaled_totals_are_the_kernels_and_the_as_split_adds_up():
    res = run(2)
    tr = traffic(res)
    ts = res.timeseries
    np.testing.assert_allclose(tr["scan_packets_per_s"] * 60.0, ts["probes_sent"], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(tr["scan_bits_per_s"], tr["scan_packets_per_s"] * 40 * 8)
    by_as = traffic_by_as(res)
    per_row = by_as.groupby("time")["scan_packets_per_s"].sum()
    np.testing.assert_allclose(per_row.to_numpy(), tr.set_index("time").loc[per_row.index, "scan_packets_per_s"], rtol=1e-9)
    assert by_as["asn"].nunique() > 20  # hosts spread over many ASes of the default network


def test_flood_traffic_matches_the_flood_count_on_flood_days():
    res = run(0, time={"start": "2001-07-20T10:00:00Z", "end": "2001-07-20T11:00:00Z"},
              worm={"initial_infected": 500, "flood_packets_per_s": 10.0})
    tr = traffic(res, scale=False)
    kernel = res.timeseries["flood_packets_to_target"].sum()
    assert tr["scan_packets_per_s"].sum() == 0  # day 20: no spreading
    assert abs(tr["flood_packets_per_s"].sum() * 60.0 / kernel - 1.0) < 0.01


def test_congestion_slows_scanning_and_shows_as_a_factor_below_one():
    free = run(0)
    cap = 1000.0
    jammed = run(0, worm={"saturation_probes_per_s": cap})
    assert jammed.summary["probes_total"] < free.summary["probes_total"]
    tr = traffic(jammed)
    late = tr[tr["nominal_scan_packets_per_s"] > 2000]
    assert len(late) > 5
    expected = 1.0 / (1.0 + late["nominal_scan_packets_per_s"] / cap)  # R / (1 + R / cap), R estimated
    assert np.allclose(late["congestion_factor"], expected, rtol=0.1)
    assert (traffic(free)["congestion_factor"].dropna().between(0.9, 1.1)).mean() > 0.9


def test_traffic_command_reads_a_run_folder(tiny_toml, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(tiny_toml), "--out", str(out), "-q", "--no-plot"]) == 0
    capsys.readouterr()
    assert main(["traffic", str(out), "--every", "15min"]) == 0
    text = capsys.readouterr().out
    assert "scan_packets_per_s" in text and "congestion_factor" in text
    assert main(["traffic", str(out), "--by-as", "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "time,asn,scan_packets_per_s,scan_bits_per_s,flood_packets_per_s,flood_bits_per_s"
    assert len(lines) > 100
    assert main(["traffic", str(tmp_path / "nowhere")]) == 2
