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
