"""One organisation's view of a run: its hosts, how many were infected hour by hour, how many
were infected from outside, and the defences that name it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wormlab.errors import ScenarioError


def org_hosts(result, name: str) -> np.ndarray:
    """Boolean mask over the run's hosts: those of organisation ``name``."""
    from wormlab.defenses.plan import network_of

    net = network_of(result.scenario)
    try:
        idx = net.org_index(name)
    except KeyError:
        raise ScenarioError(f"--org: no organisation named {name!r} (named ones: "
                            f"{', '.join(o.name for o in (result.scenario.network.organisations if result.scenario.network else [])) or 'none'})") from None
    return net.assign(len(result.hosts)).host_org == idx


def org_view(result, name: str) -> str:
    mine = org_hosts(result, name)
    hosts = result.hosts
    at = hosts["infected_at"][mine]
    by = hosts["infected_by"].to_numpy()
    victims = np.flatnonzero(mine & (by >= 0))
    outside = int((~mine[by[victims]]).sum())
    lines = [f"{name}: {int(mine.sum()):,} vulnerable hosts; {int(at.notna().sum()):,} ever infected "
             f"({outside:,} from outside, {victims.size - outside:,} from inside)"]
    defs = [d.name for d in result.scenario.defenses if name in getattr(d, "organisations", [])]
    lines.append("defences naming it: " + (", ".join(defs) if defs else "none"))
    for t in pd.date_range(pd.Timestamp(result.scenario.time.start).ceil("h"), result.scenario.time.end, freq="h"):
        lines.append(f"  {t:%Y-%m-%d %H:%M}Z  infected so far {int((at <= t).sum()):>8,}")
    return "\n".join(lines)


def org_table(result) -> pd.DataFrame:
    """One row per organisation of the run's network: its type, AS, hosts, how many were ever
    infected (from outside / inside), infected and patched at the end, and its first infection."""
    from wormlab.defenses.plan import network_of
    from wormlab.internet.organisations import ORG_TYPES

    net = network_of(result.scenario)
    hosts = result.hosts
    n_org = len(net.org_name)
    org = net.assign(len(hosts)).host_org.astype(np.int64)
    state = hosts["state"].astype(str).to_numpy()
    ever = hosts["infected_at"].notna().to_numpy()
    by = hosts["infected_by"].to_numpy()
    has_src = ever & (by >= 0)
    outside = np.zeros(len(hosts), dtype=bool)
    outside[has_src] = org[by[has_src]] != org[has_src]

    def count(mask) -> np.ndarray:
        return np.bincount(org[mask], minlength=n_org)

    first = hosts["infected_at"].groupby(org).min().reindex(range(n_org)).reset_index(drop=True)
    return pd.DataFrame({
        "organisation": net.org_name,
        "type": [ORG_TYPES[t] for t in net.org_type],
        "asn": net.topology.asn[net.org_as].astype(np.int64),
        "hosts": np.bincount(org, minlength=n_org),
        "ever_infected": count(ever),
        "infected_from_outside": count(outside),
        "infected_from_inside": count(has_src & ~outside),
        "infected_at_end": count(state == "infected"),
        "patched_at_end": count(state == "patched"),
        "first_infected_at": first,
    })


def check_org(sc, name: str) -> None:
    """ScenarioError (one line, exit 2) unless ``name`` is an organisation of ``sc``'s network."""
    from wormlab.defenses.plan import network_of

    try:
        network_of(sc).org_index(name)
    except KeyError:
        named = ", ".join(o.name for o in (sc.network.organisations if sc.network else [])) or "none"
        raise ScenarioError(f"--org: no organisation named {name!r} in {sc.name}'s network "
                            f"(named ones: {named}; synthetic ones look like enterprise-1, "
                            "isp-customers-AS101)") from None


def _without(sc, i: int):
    return sc.model_copy(update={"defenses": [d for j, d in enumerate(sc.defenses) if j != i]})


def org_summary(result, name: str, counterfactual: bool = True, every: str | None = None) -> str:
    """What ``wormlab run … --org NAME`` prints: the organisation's hosts infected over time and,
    per defence of the scenario, its ever-infected count in the same run (same seed) without that
    defence; a defence helped the organisation when the count is higher without it."""
    from wormlab.defenses.traffic import host_intervals

    check_org(result.scenario, name)
    mine = org_hosts(result, name)
    row = org_table(result).set_index("organisation").loc[name]
    sc = result.scenario
    lines = [f"{name} ({row['type']}, AS{row['asn']}): {row['hosts']:,} vulnerable hosts; "
             f"{row['ever_infected']:,} ever infected ({row['infected_from_outside']:,} from outside, "
             f"{row['infected_from_inside']:,} from inside); {row['infected_at_end']:,} infected and "
             f"{row['patched_at_end']:,} patched at the end"]
    if sc.defenses and counterfactual:
        from wormlab.engine.simulate import simulate

        lines.append("defences (its ever infected in a run of the same seed without each one; "
                     "one seed, so small differences are noise):")
        for i, d in enumerate(sc.defenses):
            other = simulate(_without(sc, i), seed=result.seed)
            n = int(other.hosts["infected_at"][mine].notna().sum())
            verdict = "helped" if n > row["ever_infected"] else "no help"
            lines.append(f"  {d.name:40s} {n:>9,} without it ({n - row['ever_infected']:+,}): {verdict}")
    elif sc.defenses:
        lines.append("defences: " + ", ".join(d.name for d in sc.defenses))
    else:
        lines.append("defences: none in this scenario")
    a, b = host_intervals(result)
    a, b = a[mine], np.where(b[mine] >= sc.time.duration_s, np.inf, b[mine])  # infected at the end
    t0 = pd.Timestamp(sc.time.start)
    every = every or f"{max(1, -(-int(sc.time.duration_s) // (24 * 3600)))}h"  # at most about 24 lines
    lines.append(f"  {'time (UTC)':17s} {'ever infected':>13s} {'infected':>9s}")
    for t in pd.date_range(t0.ceil(every), sc.time.end, freq=every):
        s = (t - t0).total_seconds()
        lines.append(f"  {t:%Y-%m-%d %H:%M}  {int((a <= s).sum()):>13,} {int(((a <= s) & (b > s)).sum()):>9,}")
    return "\n".join(lines)
