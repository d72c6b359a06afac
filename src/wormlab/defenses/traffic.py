"""Scan and flood traffic of a run over time, in total and by AS, derived after the run.

The kernel counts probes and flood packets per record row (``probes_sent``,
``flood_packets_to_target``) but not where they come from. Here each host's share is rebuilt
from the per-host table: a host scans at its ``probe_rate_per_s`` from ``infected_at`` until
``last_cured_at`` (or the end of the run when it is still infected, or has no cure time) on rows
whose day the worm's calendar says *spread*, and floods at ``worm.flood_packets_per_s`` over the
same interval on *flood* days. Approximations: the table keeps only a host's first infection and
last cure, so a host re-infected after a reboot is counted as scanning across the gap; time a
host spends offline or throttled is counted at its table rate; sleeping seeds scan from their
infection. With ``scale=True`` (the default) each row's per-AS estimate is rescaled to the
kernel's exact count for that row, so totals are exact and only the split by AS is estimated;
``nominal_*`` columns keep the unscaled estimate, and their ratio to the kernel's count is the
congestion factor 1 / (1 + R / worm.saturation_probes_per_s) when saturation is on.

Bits: one probe is one TCP SYN of ``probe_packet_bytes`` (default 40: IP and TCP headers, no
options; an assumption), a flood packet is ``worm.flood_packet_bytes``. Payloads sent to the
hosts a probe finds (Code Red's 4 KB request) are not counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PROBE_PACKET_BYTES = 40


def host_intervals(result) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) in seconds from the scenario's start of each host's infection; nan when never
    infected. A host still infected, or with no cure after its infection, is infected to the end."""
    hosts = result.hosts
    t0 = pd.Timestamp(result.scenario.time.start)
    end = float(result.scenario.time.duration_s)
    a = (pd.DatetimeIndex(hosts["infected_at"]) - t0).total_seconds().to_numpy(dtype=float)
    b = (pd.DatetimeIndex(hosts["last_cured_at"]) - t0).total_seconds().to_numpy(dtype=float)
    still = (hosts["state"].astype(str) == "infected").to_numpy()
    b = np.where(still | np.isnan(b) | (b < a), end, b)
    return a, np.where(np.isnan(a), np.nan, b)


def _row_phase(result) -> tuple[np.ndarray, np.ndarray]:
    """Per time-series row: is it a spread row, a flood row (row 0 is the initial state: neither)."""
    times = pd.DatetimeIndex(result.timeseries["time"])
    day = np.concatenate(([0], times[:-1].day.to_numpy()))  # a row covers [previous time, its time)
    spread = {d for ph in result.scenario.worm.calendar if ph.action == "spread" for d in range(ph.days[0], ph.days[1] + 1)}
    flood = {d for ph in result.scenario.worm.calendar if ph.action == "flood" for d in range(ph.days[0], ph.days[1] + 1)}
    return np.isin(day, list(spread)), np.isin(day, list(flood))


def _row_integrals(a, b, weight, group, n_groups, edges) -> np.ndarray:
    """``out[g, i]`` = sum over hosts h of group g of weight[h] x |[a_h, b_h) & row i|, where row i
    (i >= 1) covers [edges[i-1], edges[i]); row 0 stays 0."""
    ok = ~np.isnan(a)
    ev_t = np.concatenate((a[ok], b[ok]))
    ev_w = np.concatenate((weight[ok], -weight[ok]))
    ev_g = np.concatenate((group[ok], group[ok])).astype(np.int64)
    n_rows = edges.size
    row = np.searchsorted(edges, ev_t, side="right")  # the row whose interval holds the event
    keep = row < n_rows
    ev_t, ev_w, ev_g, row = ev_t[keep], ev_w[keep], ev_g[keep], row[keep]
    size = n_groups * n_rows
    partial = np.bincount(ev_g * n_rows + row, ev_w * (edges[row] - ev_t), minlength=size).reshape(n_groups, n_rows)
    nxt = row + 1
    inside = nxt < n_rows
    delta = np.bincount(ev_g[inside] * n_rows + nxt[inside], ev_w[inside], minlength=size).reshape(n_groups, n_rows)
    active = np.cumsum(delta, axis=1)  # rate summed over the group's hosts infected through row i
    length = np.diff(edges, prepend=edges[0])
    return partial + active * length


def _scaled(est: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Rescale each row (column of ``est``) to the kernel's count for that row."""
    tot = est.sum(axis=0)
    factor = np.divide(kernel, tot, out=np.zeros_like(tot), where=tot > 0)
    return est * factor


def _traffic_arrays(result, by_as: bool, scale: bool):
    ts = result.timeseries
    sc = result.scenario
    t0 = pd.Timestamp(sc.time.start)
    edges = (pd.DatetimeIndex(ts["time"]) - t0).total_seconds().to_numpy(dtype=float)
    a, b = host_intervals(result)
    if by_as:
        from wormlab.defenses.plan import network_of

        net = network_of(sc)
        group = net.assign(len(a)).host_as.astype(np.int64)
        n_groups = net.topology.n_as
    else:
        group, n_groups = np.zeros(a.size, dtype=np.int64), 1
    rate = result.hosts["probe_rate_per_s"].to_numpy(dtype=float)
    spread, flood = _row_phase(result)
    scan = _row_integrals(a, b, rate, group, n_groups, edges) * spread
    flood_est = _row_integrals(a, b, np.full(a.size, sc.worm.flood_packets_per_s), group, n_groups, edges) * flood
    nominal = scan.sum(axis=0)
    if scale:
        scan = _scaled(scan, ts["probes_sent"].to_numpy(dtype=float))
        flood_est = _scaled(flood_est, ts["flood_packets_to_target"].to_numpy(dtype=float))
    length = np.diff(edges, prepend=edges[0])
    per_s = np.divide(1.0, length, out=np.zeros_like(length), where=length > 0)
    return edges, scan * per_s, flood_est * per_s, nominal * per_s, (net.topology.asn if by_as else None)


def traffic(result, probe_packet_bytes: int = PROBE_PACKET_BYTES, scale: bool = True) -> pd.DataFrame:
    """Whole-Internet traffic per record row: scan and flood packets/s and bits/s, the kernel's
    probe rate, the host-table estimate without congestion, and their ratio."""
    _, scan, flood, nominal, _ = _traffic_arrays(result, by_as=False, scale=scale)
    ts = result.timeseries
    row_s = np.diff((pd.DatetimeIndex(ts["time"]) - ts["time"].iloc[0]).total_seconds().to_numpy(), prepend=0.0)
    kernel = np.divide(ts["probes_sent"].to_numpy(dtype=float), row_s, out=np.zeros(len(ts)), where=row_s > 0)
    fb = result.scenario.worm.flood_packet_bytes
    return pd.DataFrame({
        "time": ts["time"].to_numpy(),
        "scan_packets_per_s": scan[0],
        "scan_bits_per_s": scan[0] * probe_packet_bytes * 8,
        "flood_packets_per_s": flood[0],
        "flood_bits_per_s": flood[0] * fb * 8,
        "kernel_probes_per_s": kernel,
        "nominal_scan_packets_per_s": nominal,
        "congestion_factor": np.divide(kernel, nominal, out=np.full(len(ts), np.nan), where=nominal > 0),
    })


def traffic_by_as(result, probe_packet_bytes: int = PROBE_PACKET_BYTES, scale: bool = True) -> pd.DataFrame:
    """Traffic sent by the hosts of each AS per record row (long form: one row per time and AS
    with any traffic): ``time``, ``asn``, scan and flood packets/s and bits/s."""
    edges, scan, flood, _, asn = _traffic_arrays(result, by_as=True, scale=scale)
    n_as, n_rows = scan.shape
    g, i = np.nonzero((scan > 0) | (flood > 0))
    times = result.timeseries["time"].to_numpy()
    fb = result.scenario.worm.flood_packet_bytes
    return pd.DataFrame({
        "time": times[i],
        "asn": asn[g].astype(np.int64),
        "scan_packets_per_s": scan[g, i],
        "scan_bits_per_s": scan[g, i] * probe_packet_bytes * 8,
        "flood_packets_per_s": flood[g, i],
        "flood_bits_per_s": flood[g, i] * fb * 8,
    })


def as_totals(by_as: pd.DataFrame, row_s: float) -> pd.DataFrame:
    """One row per AS: packets over the run and peak packets/s, scan and flood, largest first."""
    grouped = by_as.groupby("asn")
    out = pd.DataFrame({
        "scan_packets": grouped["scan_packets_per_s"].sum() * row_s,
        "scan_peak_packets_per_s": grouped["scan_packets_per_s"].max(),
        "flood_packets": grouped["flood_packets_per_s"].sum() * row_s,
        "flood_peak_packets_per_s": grouped["flood_packets_per_s"].max(),
    })
    return out.sort_values(["scan_packets", "flood_packets"], ascending=False).reset_index()
