"""SWEEP.toml parsing, seeds, the store's refusal of other sweeps, and aggregates (no Dask)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sweep_support import SMALL_TOML, write_sweep

from wormlab.errors import ScenarioError, WormlabError
from wormlab.sweep.aggregate import containment_probability, point_table, quantile_bands
from wormlab.sweep.spec import ensemble_plan, load_sweep_file
from wormlab.sweep.store import open_store


def test_grid_points_cross_keys_and_seeds_spawn_from_root_by_index(tmp_path):
    plan, _ = load_sweep_file(write_sweep(tmp_path))
    assert plan.n_runs == 12
    assert plan.points[1] == {"worm.probe_rate_per_s": 2.0, "hosts.mean_uptime_h": 10.0}
    assert plan.point_of(5) == 1 and plan.run_spec(5).replicate == 2
    expected = np.random.SeedSequence(11).spawn(12)[7].generate_state(1)[0]
    assert plan.seed_of(7) == int(expected)
    assert len({plan.seed_of(i) for i in range(12)}) == 12
    sc = plan.scenario_of(5)
    assert sc.worm.probe_rate_per_s == 2.0 and sc.hosts.mean_uptime_h == 10.0


def test_common_seeds_share_seeds_across_points(tmp_path):
    sweep = write_sweep(tmp_path, sweep_text='scenario = "small.toml"\nruns_per_point = 2\ncommon_seeds = true\n'
                        '[grid]\n"worm.initial_infected" = [1, 2]\n')
    plan, _ = load_sweep_file(sweep)
    assert [plan.seed_of(i) for i in range(4)][:2] == [plan.seed_of(i) for i in range(4)][2:]


def test_random_sample_is_reproducible_and_in_range(tmp_path):
    text = ('scenario = "small.toml"\nroot_seed = 3\n[random]\npoints = 6\n'
            '"worm.probe_rate_per_s" = { uniform = [1.0, 2.0] }\n'
            '"worm.initial_infected" = { integers = [1, 4] }\n'
            '"hosts.mean_uptime_h" = { log_uniform = [1.0, 100.0] }\n'
            '"worm.probe_rate_distribution" = { choice = ["fixed", "exponential"] }\n')
    a, _ = load_sweep_file(write_sweep(tmp_path, sweep_text=text))
    b, _ = load_sweep_file(tmp_path / "SWEEP.toml")
    assert a.points == b.points and len(a.points) == 6
    for p in a.points:
        assert 1.0 <= p["worm.probe_rate_per_s"] <= 2.0 and 1 <= p["worm.initial_infected"] <= 4
        assert 1.0 <= p["hosts.mean_uptime_h"] <= 100.0
        assert p["worm.probe_rate_distribution"] in ("fixed", "exponential")


@pytest.mark.parametrize("text, message", [
    ('scenario = "small.toml"\n[grid]\n"worm.probe_rate_pers" = [1.0]\n', "worm.probe_rate_pers"),
    ('scenario = "small.toml"\n[grid]\n"defence.delay_s" = [1.0]\n', "no key 'defence'"),
    ('scenario = "small.toml"\n[grid]\n', "empty grid"),
    ('scenario = "small.toml"\n[grid]\n"worm.probe_rate_per_s" = []\n', "non-empty list"),
    ('scenario = "small.toml"\nrunz = 3\n', "runz: unknown key"),
    ('scenario = "small.toml"\n[grid]\n"worm.initial_infected" = [1, 5000]\n', "initial_infected exceeds"),
    ('scenario = "small.toml"\n[random]\npoints = 2\n"worm.probe_rate_per_s" = { normal = [1, 2] }\n', "uniform"),
    ('[grid]\n"worm.probe_rate_per_s" = [1.0]\n', "scenario: required"),
])
def test_bad_sweep_files_name_the_key(tmp_path, text, message):
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(")):
        load_sweep_file(write_sweep(tmp_path, sweep_text=text))


def test_store_refuses_a_directory_of_another_definition(tmp_path):
    (tmp_path / "small.toml").write_text(SMALL_TOML)
    out = tmp_path / "out"
    open_store(out, ensemble_plan(tmp_path / "small.toml", runs=3, root_seed=1))
    open_store(out, ensemble_plan(tmp_path / "small.toml", runs=3, root_seed=1))  # same plan: reopens
    with pytest.raises(WormlabError, match="different sweep definition"):
        open_store(out, ensemble_plan(tmp_path / "small.toml", runs=3, root_seed=2))
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(WormlabError, match="not a sweep directory"):
        open_store(other, ensemble_plan(tmp_path / "small.toml", runs=3))


def test_aggregates_on_a_known_table():
    times = pd.to_datetime(["2001-07-19T10:00Z", "2001-07-19T10:01Z"])
    ts = pd.DataFrame({"run_index": np.repeat(np.arange(4), 2), "point_index": np.repeat([0, 0, 1, 1], 2),
                       "time": np.tile(times, 4), "infected": [1, 10, 1, 20, 1, 30, 1, 40],
                       "ever_infected": [1, 10, 1, 20, 1, 30, 1, 40]})
    bands = quantile_bands(ts, "infected")
    last0 = bands[(bands.point_index == 0) & (bands.time == times[1])].iloc[0]
    assert last0.runs == 2 and last0.q50 == 15 and last0.q05 == pytest.approx(10.5) and last0.q95 == pytest.approx(19.5)
    contained = containment_probability(ts, threshold=25)
    assert contained.p_contained.tolist() == [1.0, 0.0]
    assert containment_probability(ts, threshold=25, at=times[0]).p_contained.tolist() == [1.0, 1.0]
    summaries = pd.DataFrame({"run_index": range(4), "point_index": [0, 0, 1, 1], "ever_infected": [10, 20, 30, 40]})
    table = point_table(summaries, pd.DataFrame({"point_index": [0, 1, 2], "x": [1, 2, 3]}),
                        metrics=("ever_infected",), containment_threshold=25)
    assert table.finished.tolist() == [2, 2, 0]
    assert table.ever_infected_q50.tolist()[:2] == [15, 35]
    assert table.p_contained.tolist()[:2] == [1.0, 0.0]


def test_a_defence_in_a_list_is_swept_by_index(tmp_path):
    scenario = SMALL_TOML + '\n[[defenses]]\nkind = "throttle"\nfraction = 0.5\nwhen_infected_above = 10\n'
    text = ('scenario = "small.toml"\n[grid]\n"defenses[0].reaction_s" = [60.0, 600.0]\n'
            '"defenses[0].fraction" = [0.1, 0.9]\n')
    plan, _ = load_sweep_file(write_sweep(tmp_path, sweep_text=text, scenario_text=scenario))
    assert len(plan.points) == 4
    sc = plan.scenario_of(3)
    assert sc.defenses[0].reaction_s == 600.0 and sc.defenses[0].fraction == 0.9
    with pytest.raises(ScenarioError, match=r"defenses\[1\].fraction: the scenario has 1 defenses entries, no \[1\]"):
        load_sweep_file(write_sweep(tmp_path, sweep_text='scenario = "small.toml"\n[grid]\n'
                                    '"defenses[1].fraction" = [0.5]\n', scenario_text=scenario))
    with pytest.raises(ScenarioError, match="reaction_z"):
        load_sweep_file(write_sweep(tmp_path, sweep_text='scenario = "small.toml"\n[grid]\n'
                                    '"defenses[0].reaction_z" = [1.0]\n', scenario_text=scenario))
