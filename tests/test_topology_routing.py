"""AS topology: valley-free routes on a tiny hand-made topology, the crossing table, the CAIDA-style
loader, and organisations cut into contiguous address blocks."""

from __future__ import annotations

import numpy as np
import pytest

from wormlab.errors import InputError
from wormlab.internet import topology as T
from wormlab.internet.organisations import build_network

# 1 and 2 are tier-1 peers; 3 is a customer of 1 and of 2 (transit); 4 of 1, 5 of 3, 6 of 2;
# 4 and 6 peer with each other (a shortcut a valley-free route may take only from one of them).
LINKS = [(1, 2, 0), (1, 3, -1), (2, 3, -1), (1, 4, -1), (3, 5, -1), (2, 6, -1), (4, 6, 0)]


def asn_path(topo, a, b):
    return [int(topo.asn[i]) for i in topo.path(topo.index_of(a), topo.index_of(b))]


def test_tiers_and_valley_free_shortest_paths():
    topo = T.from_links(LINKS)
    tiers = dict(zip(topo.asn.tolist(), topo.tier.tolist()))
    assert tiers == {1: T.TIER1, 2: T.TIER1, 3: T.TRANSIT, 4: T.STUB, 5: T.STUB, 6: T.STUB}
    assert asn_path(topo, 5, 4) == [5, 3, 1, 4]
    assert asn_path(topo, 4, 6) == [4, 6]  # the peer link
    assert asn_path(topo, 5, 6) == [5, 3, 2, 6]
    # 4 -> 2 may not go 4 -> 6 -> 2 (down a peer, then up to a provider: a valley)
    assert asn_path(topo, 4, 2) == [4, 1, 2]
    assert asn_path(topo, 4, 4) == [4]


def test_crossing_table_includes_endpoints_but_not_intra_as_probes():
    topo = T.from_links(LINKS)
    deploy = np.zeros(topo.n_as, dtype=bool)
    deploy[topo.index_of(3)] = True
    c = topo.crosses(deploy)
    i = topo.index_of
    assert c[i(5), i(4)] and c[i(4), i(5)]  # through 3, and 5 lies behind 3
    assert c[i(3), i(6)]  # leaves the deploying AS
    assert not c[i(4), i(6)] and not c[i(1), i(2)]
    assert not c[i(3), i(3)]


def test_valley_free_route_crossing_a_peer_link_at_most_once():
    # 10 and 11 peer, 11 and 12 peer: 10 cannot reach 12 through two peer links.
    topo = T.from_links([(10, 11, 0), (11, 12, 0)])
    assert asn_path(topo, 10, 12) == []
    assert not topo.crosses(np.ones(3, dtype=bool))[topo.index_of(10), topo.index_of(12)]


def test_caida_file_loader(tmp_path):
    path = tmp_path / "rel.txt"
    path.write_text("# source: hand-made\n" + "\n".join(f"{a}|{b}|{r}" for a, b, r in LINKS) + "\n4|6|0|bgp\n")
    topo = T.load_as_relationships(path)
    assert topo.n_as == 6 and asn_path(topo, 5, 4) == [5, 3, 1, 4]
    bad = tmp_path / "bad.txt"
    bad.write_text("1|2|7\n")
    with pytest.raises(InputError, match="bad.txt:1"):
        T.load_as_relationships(bad)


def test_synthetic_topology_is_heavy_tailed_and_every_pair_routes():
    topo = T.synthetic(seed=7)
    deg = topo.degree()
    assert deg.max() > 10 * np.median(deg)
    assert (topo.best >= 0).all()


def test_organisations_own_contiguous_blocks_in_their_as():
    net = build_network(T.synthetic(seed=3), seed=3, named=(("sss", "enterprise", 0.02),))
    place = net.assign(50_000)
    changes = np.flatnonzero(np.diff(place.host_org)) + 1
    runs = place.host_org[np.concatenate(([0], changes))]
    assert len(set(runs.tolist())) == len(runs)  # each organisation appears as one run
    sss = net.org_index("sss")
    assert abs((place.host_org == sss).sum() - 1000) <= 1
    assert (place.host_as == net.org_as[place.host_org]).all()
