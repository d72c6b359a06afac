"""Scan strategies and worm variants: exactness against the per-probe engine, and the behaviour
the variants are known for (Code Red II's local preference, Slammer's bandwidth-limited burst,
the 1 August wake-up)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from wormlab.engine.reference import simulate_reference
from wormlab.engine.simulate import simulate
from wormlab.errors import ScenarioError
from wormlab.history.validate import same_slash16
from wormlab.scenario import load_scenario, scenario_from_dict

BASE = {
    "name": "strategy-test",
    "time": {"start": "2001-07-19T10:00:00Z", "end": "2001-07-19T10:02:00Z", "step_s": 1.0,
             "record_every_s": 10.0},
    "internet": {"vulnerable_hosts": 5000, "address_bits": 18},
    "worm": {"probe_rate_per_s": 5.0, "initial_infected": 3},
}


def make(worm=None, hosts=None, **sections):
    raw = copy.deepcopy(BASE)
    raw["worm"].update(worm or {})
    if hosts:
        raw["hosts"] = hosts
    for key, value in sections.items():
        raw[key].update(value)
    return scenario_from_dict(raw, origin="test")


def _compare(sc, seeds=50, rows=(4, 8, -1)):
    fast = [simulate(sc, seed=s).timeseries for s in range(seeds)]
    slow = [simulate_reference(sc, seed=10_000 + s).timeseries for s in range(seeds)]
    pvals = []
    for row in rows:
        a = [t["ever_infected"].iloc[row] for t in fast]
        b = [t["ever_infected"].iloc[row] for t in slow]
        assert np.std(a) > 0 or np.std(b) > 0
        pvals.append(stats.ks_2samp(a, b).pvalue)
    # Bonferroni over the rows compared
    assert min(pvals) > 0.001 / len(rows), pvals
    return fast


LOCAL = {"scan": {"kind": "local-preference", "same_slash8": 0.3, "same_slash16": 0.6, "anywhere": 0.1}}


@pytest.mark.parametrize("n", [1, 5, 16, 17, 256, 1000, 65536])
def test_block_tree_finds_the_block_where_the_running_sum_passes_the_draw(n):
    """The local index's 16-ary tree of block weights (scan_local._tree_add): its root is the
    total, and a draw u finds the first block whose running sum exceeds u, as a Fenwick tree
    (or cumsum + searchsorted) does."""
    from numba import njit

    from wormlab.engine import scan_local as sl

    @njit
    def add(fen, n, b, d):
        sl._tree_add(fen, 1, n, b, d)

    @njit
    def find(fen, n, u):
        return sl._tree_find(fen, 1, n, u)

    @njit
    def total(fen, n):
        return sl._tree_total(fen, 1, n)

    rng = np.random.default_rng(n)
    fen = np.zeros((2, sl.tree_size(n)))
    w = np.zeros(n)
    for b, d in zip(rng.integers(0, n, 300), rng.random(300)):
        add(fen, n, b, d)
        w[b] += d
    if n > 1:  # a weight taken back to 0 (with one block, nothing would be left to draw)
        b = rng.integers(0, n)
        add(fen, n, b, -w[b])
        w[b] = 0.0
    assert total(fen, n) == pytest.approx(w.sum(), rel=1e-12)
    cs = np.cumsum(w)
    for u in rng.random(200) * w.sum():
        assert find(fen, n, u) == np.searchsorted(cs, u, side="right")


def test_local_preference_matches_the_per_probe_engine():
    _compare(make(worm=LOCAL))


def test_local_preference_in_a_slash8_of_256_slash16s_matches_the_per_probe_engine():
    """With 2^24 addresses the space is one /8 of 256 /16s: a /8 hit's target descends the
    susceptible counts /8 -> run of 16 /16s -> /16 (scan_local.level_hits)."""
    _compare(make(worm={**LOCAL, "probe_rate_per_s": 40.0, "initial_infected": 20},
                  internet={"address_bits": 24}))


def test_local_preference_with_rate_classes_reboots_and_patching_matches_per_probe():
    sc = make(worm={**LOCAL, "rate_classes": [{"share": 0.5, "multiplier": 1.0}, {"share": 0.5, "multiplier": 3.0}]},
              hosts={"mean_uptime_h": 0.01,
                     "patch_schedule": [{"from": "2001-07-19T10:00:30Z", "rate_per_h": 20.0}]})
    fast = _compare(sc)
    assert sum(t["reboots"].sum() for t in fast) > 0 and sum(t["patches"].sum() for t in fast) > 0


def test_local_preference_across_a_sleep_with_patching_and_reboots_matches_per_probe():
    """In the sleep before 1 August nothing scans, so the engine makes that phase's patches and
    reboots without its block index and rebuilds the index when spreading starts again
    (scan_local.rebuild): the run must still have the per-probe engine's law."""
    sc = make(worm={**LOCAL, "initial_infected": 40},
              time={"start": "2001-07-31T23:58:00Z", "end": "2001-08-01T00:02:00Z"},
              hosts={"mean_uptime_h": 0.05,
                     "patch_schedule": [{"from": "2001-07-31T23:58:00Z", "rate_per_h": 10.0}]})
    fast = _compare(sc, rows=(14, 18, -1))
    asleep = [t[t["time"] < pd.Timestamp("2001-08-01T00:00:00Z")] for t in fast]
    assert all(a["probes_sent"].sum() == 0 for a in asleep)
    assert sum(a["patches"].sum() + a["reboots"].sum() for a in asleep) > 0


@pytest.mark.parametrize("bits", [18, 26])
def test_rebuilt_block_index_equals_the_one_kept_move_by_move(bits):
    """scan_local.rebuild works out from ``order`` and ``state`` the index that scan_local.moves
    keeps move by move: positions, counts, rate sums, weights and tree, the /8 lists as sets."""
    from numba import njit

    from wormlab.engine import scan_local as sl
    from wormlab.engine.kernel_hosts import move_at

    @njit
    def shuffle_states(order, bnd, state, local, rate, js, tos):
        for i in range(js.shape[0]):
            n_seg = bnd[4]
            move_at(js[i] % n_seg, tos[i], order, bnd, state, local, rate)

    rng = np.random.default_rng(3)
    n = 3000
    address = np.sort(rng.choice(1 << bits, n, replace=False)).astype(np.uint32)
    rate = rng.choice([2.0, 5.0, 11.0], n)
    local = sl.build_local_index(address, rate, bits, (0.3, 0.6, 0.1), float(1 << bits))
    order = np.arange(n, dtype=np.int32)
    bnd = np.array([0, n, n, n, n], dtype=np.int64)
    state = np.zeros(n, dtype=np.uint8)
    shuffle_states(order, bnd, state, local, rate, rng.integers(0, n, 20_000),
                   rng.choice(np.array([0, 1, 1, 1, 2, 3], dtype=np.uint8), 20_000))
    assert len(set(state.tolist())) == 4
    kept = {f: getattr(local, f).copy() for f in ("pos", "e1", "e2", "scnt", "rsum", "weight", "fen", "lp")}
    for f in ("pos", "e1", "e2", "rsum", "weight", "li"):
        getattr(local, f)[...] = -7  # rebuild must not read what it works out
    local.fen[...] = 0.5
    L = local
    L.scnt[...] = -7
    sl.rebuild(order, state, rate, L.pos, L.locg, L.lsh, L.blk, L.lp, L.li, L.lo, L.e1, L.e2, L.scnt,
               L.rsum, L.weight, L.fen, L.nblk)
    np.testing.assert_array_equal(L.pos, kept["pos"])
    np.testing.assert_array_equal(L.scnt, kept["scnt"])  # kept move by move, and worked out afresh
    n16, per_mid = L.nblk[1], 1 << sl.mid_shift(L.nblk)  # /16 counts, then sums of runs of them
    s16 = np.bincount(L.blk[1][state == 0], minlength=n16)
    np.testing.assert_array_equal(L.scnt[:n16], s16)
    np.testing.assert_array_equal(L.scnt[n16:n16 + n16 // per_mid], s16.reshape(-1, per_mid).sum(axis=1))
    assert per_mid == (16 if bits == 26 else 4)
    for lv in range(2):  # (the blocks in use at each level)
        used = slice(0, L.nblk[lv])
        np.testing.assert_array_equal(L.e1[lv, used], kept["e1"][lv, used])
        np.testing.assert_array_equal(L.e2[lv, used], kept["e2"][lv, used])
        np.testing.assert_allclose(L.rsum[lv, used], kept["rsum"][lv, used], atol=1e-9)
        np.testing.assert_allclose(L.weight[lv, used], kept["weight"][lv, used], atol=1e-6)
    np.testing.assert_allclose(L.fen[:, 1:], kept["fen"][:, 1:], atol=1e-6)
    for b in range(L.nblk[0]):
        lo, m = L.lo[0, b], L.e2[0, b]
        got = L.lp[0, lo:lo + m]
        assert set(got.tolist()) == set(kept["lp"][0, lo:lo + m].tolist())
        assert all(state[h] == 1 for h in got) and np.array_equal(L.li[0, got], np.arange(lo, lo + m))


def test_bandwidth_limited_scanning_with_saturation_matches_per_probe():
    sc = make(worm={"probe_rate_per_s": None, "saturation_probes_per_s": 3000.0,
                    "bandwidth": {"probe_bytes": 404, "classes": [
                        {"share": 0.8, "bytes_per_s": 404.0 * 2}, {"share": 0.2, "bytes_per_s": 404.0 * 20}]}})
    _compare(sc)


def test_sleeping_seeds_match_per_probe_and_do_not_scan_before_waking():
    sc = make(worm={"initial_infected": 10, "initial_wake_hours": [0.01, 0.02]})
    fast = _compare(sc)
    for ts in fast:  # nobody scans in the first 36 s (rows of 10 s)
        assert ts["probes_sent"].iloc[1:4].sum() == 0
        assert ts["probes_sent"].iloc[-1] > 0


def test_code_red_ii_infects_its_own_neighbourhood_first():
    local = load_scenario("codered-ii-2001-08-04", overrides=["time.end=2001-08-04T03:00:00Z"])
    uniform = local.with_overrides({"worm.scan": "uniform"})

    def same_slash16_share(sc):
        res = simulate(sc, seed=2)  # (the measure ``wormlab validate`` checks)
        return same_slash16(res), res.summary["ever_infected"]

    (share_local, gain_local), n_local = same_slash16_share(local)
    (share_uniform, gain_uniform), n_uniform = same_slash16_share(uniform)
    assert n_local > 10_000 and n_uniform > 1000
    assert share_local > 0.2 and share_uniform < 0.01
    # uniform scanning stays under its bound; local preference is far above it
    assert gain_uniform < 1.0 and gain_local > 100.0
    # and faster: it reaches 10% of hosts sooner than uniform scanning would
    t_local = simulate(local, seed=3).timeseries
    t_uniform = simulate(uniform, seed=3).timeseries
    first = lambda ts: ts.loc[ts["ever_infected"] >= 30_000, "time"].iloc[0]  # noqa: E731
    assert first(t_local) < first(t_uniform)


def test_code_red_ii_survives_reboots():
    sc = load_scenario("codered-ii-2001-08-04", overrides=[
        "time.end=2001-08-04T01:00:00Z", "hosts.mean_uptime_h=0.5"])
    ts = simulate(sc, seed=1).timeseries
    assert ts["reboots"].sum() == 0 and ts["ever_infected"].iloc[-1] > 100
    cured = simulate(sc.with_overrides({"worm.reboot_cures": True}), seed=1).timeseries
    assert cured["reboots"].sum() > 0


@pytest.fixture(scope="module")
def slammer_runs():
    sc = load_scenario("slammer-2003-01-25")
    return [simulate(sc, seed=s) for s in range(7)]


def test_slammer_doubles_every_8_5_seconds(slammer_runs):
    doubling_s = np.median([r.summary["early_doubling_minutes"] * 60 for r in slammer_runs])
    assert 8.5 * 0.8 <= doubling_s <= 8.5 * 1.2


def test_slammer_infects_over_90_percent_within_10_minutes(slammer_runs):
    for r in slammer_runs:
        ts = r.timeseries
        ten = ts.loc[ts["time"] <= pd.Timestamp("2003-01-25T05:39:00Z"), "ever_infected"].iloc[-1]
        assert ten / r.summary["vulnerable_hosts"] > 0.9
        assert 70_000 <= r.summary["ever_infected"] <= 80_000


def test_slammer_scanning_peaks_near_55_million_per_second_about_3_minutes_in(slammer_runs):
    for r in slammer_runs:
        ts = r.timeseries  # one row per second, so probes_sent is probes per second
        probes = ts["probes_sent"].to_numpy()
        assert 55e6 * 0.7 <= probes.max() <= 55e6 * 1.3
        t_s = (ts["time"] - ts["time"].iloc[0]).dt.total_seconds().to_numpy()
        reach = t_s[np.argmax(probes >= 0.9 * probes.max())]
        assert 90 <= reach <= 300


def test_code_red_wakes_up_on_1_august():
    sc = load_scenario("codered-2001-08-01")
    ts = simulate(sc, seed=4).timeseries
    early = ts[ts["time"] < pd.Timestamp("2001-08-01T00:10:00Z")]
    later = ts[ts["time"] > pd.Timestamp("2001-08-01T08:00:00Z")]
    assert early["probes_sent"].sum() < later["probes_sent"].iloc[:10].sum()
    # soft: 276,237 hosts counted on 1 August (SANS ISC); a wide band, not a tight test
    assert 200_000 < ts["ever_infected"].iloc[-1] < 330_000


@pytest.mark.parametrize("worm, key, words", [
    ({"scan": {"kind": "local-preference", "same_slash8": 0.6}}, "worm.scan", "sum to 1"),
    ({"rate_classes": [{"share": 0.5, "multiplier": 1.0}]}, "worm", "sum to 1"),
    ({"bandwidth": {"probe_bytes": 404, "classes": [{"share": 1.0, "bytes_per_s": 0.0}]}}, "worm.bandwidth.classes[0].bytes_per_s", "greater than 0"),
    ({"scan": "sequentially"}, "worm.scan", "does not match"),
    ({"initial_wake_hours": [3.0, 1.0]}, "worm", "initial_wake_hours"),
])
def test_bad_worm_settings_name_the_key(worm, key, words):
    with pytest.raises(ScenarioError) as err:
        make(worm=worm)
    assert key in str(err.value) and words in str(err.value)
