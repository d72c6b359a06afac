"""Which addresses can hold hosts, and placing vulnerable hosts there without materialising 2^32.

For the real 32-bit space a /8 can hold hosts when the IANA registry (shipped copy of
``iana-ipv4-address-space.csv``, December 2021, source: IANA IPv4 Address Space Registry) lists it
as ALLOCATED or LEGACY with a date on or before the scenario's ``registry_date``; inside those /8s
the special-use blocks (RFC 1918, link-local, documentation, benchmarking) never hold hosts.
Smaller spaces (``address_bits`` < 32, used for validation) are wholly usable.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

import numpy as np

from wormlab.internet.nat import NAT_SLASH8, nat_count
from wormlab.scenario import Internet

SLASH8 = 1 << 24

# Special-use blocks inside otherwise usable /8s: (first address, prefix length).
# Whole reserved /8s (0, 10, 127, 224-255) are already RESERVED in the IANA registry.
RESERVED_BLOCKS: tuple[tuple[str, int], ...] = (
    ("0.0.0.0", 8),
    ("10.0.0.0", 8),
    ("100.64.0.0", 10),
    ("127.0.0.0", 8),
    ("169.254.0.0", 16),
    ("172.16.0.0", 12),
    ("192.0.0.0", 24),
    ("192.0.2.0", 24),
    ("192.88.99.0", 24),
    ("192.168.0.0", 16),
    ("198.18.0.0", 15),
    ("198.51.100.0", 24),
    ("203.0.113.0", 24),
    ("224.0.0.0", 3),
)


def ip_to_int(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def int_to_ip(value: int) -> str:
    value = int(value)
    return f"{value >> 24 & 255}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


@lru_cache(maxsize=1)
def _iana_rows() -> tuple[tuple[int, str, str], ...]:
    path = resources.files("wormlab") / "data" / "iana-ipv4-address-space.csv"
    rows = []
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            prefix = int(row["Prefix"].split("/")[0])
            rows.append((prefix, row["Date"], row["Status [1]"].strip().upper()))
    return tuple(rows)


@lru_cache(maxsize=64)
def usable_slash8s(registry_date: str) -> tuple[int, ...]:
    """The /8s allocated (or legacy) on or before ``registry_date`` (``YYYY-MM``)."""
    return tuple(
        prefix
        for prefix, date, status in _iana_rows()
        if status in ("ALLOCATED", "LEGACY") and date <= registry_date
    )


@lru_cache(maxsize=1)
def _reserved_ints() -> tuple[tuple[int, int], ...]:
    """RESERVED_BLOCKS as (first address, prefix length), parsed once."""
    return tuple((ip_to_int(first), plen) for first, plen in RESERVED_BLOCKS)


def _reserved_intervals_in(prefix: int) -> list[tuple[int, int]]:
    """Reserved [lo, hi) offsets inside /8 ``prefix``."""
    base = prefix << 24
    out = []
    for lo, plen in _reserved_ints():
        hi = lo + (1 << (32 - plen))
        lo_c, hi_c = max(lo, base), min(hi, base + SLASH8)
        if lo_c < hi_c:
            out.append((lo_c - base, hi_c - base))
    return sorted(out)


@lru_cache(maxsize=256)
def _allowed_intervals_in(prefix: int) -> tuple[tuple[int, int], ...]:
    cur, out = 0, []
    for lo, hi in _reserved_intervals_in(prefix):
        if lo > cur:
            out.append((cur, lo))
        cur = max(cur, hi)
    if cur < SLASH8:
        out.append((cur, SLASH8))
    return tuple(out)


def slash8_layout(internet: Internet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Usable /8 prefixes, their capacity (usable addresses) and relative density weight."""
    if internet.address_bits < 32:
        return np.array([0]), np.array([1 << internet.address_bits]), np.array([1.0])
    prefixes = np.array(usable_slash8s(internet.registry_date), dtype=np.int64)
    capacity = np.array(
        [sum(hi - lo for lo, hi in _allowed_intervals_in(int(p))) for p in prefixes], dtype=np.int64
    )
    weights = np.array([internet.slash8_weights.get(str(int(p)), 1.0) for p in prefixes])
    keep = (capacity > 0) & (weights > 0)
    return prefixes[keep], capacity[keep], weights[keep]


def routable_capacity(internet: Internet) -> int:
    """How many addresses can hold a vulnerable host in this scenario's address space."""
    _, capacity, _ = slash8_layout(internet)
    return int(capacity.sum())


def _reserved_mask(addresses: np.ndarray) -> np.ndarray:
    """True where an address lies in a reserved block (only /8s holding one are examined)."""
    touched = np.zeros(256, dtype=bool)
    for first, plen in _reserved_ints():
        lo = first >> 24
        touched[lo : lo + max(1, 1 << (8 - plen)) if plen < 8 else lo + 1] = True
    bad = np.zeros(addresses.shape, dtype=bool)
    idx = np.flatnonzero(touched[addresses >> 24])
    sub = addresses[idx]
    hit = np.zeros(sub.shape, dtype=bool)
    for first, plen in _reserved_ints():
        net_mask = np.uint32((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF)
        hit |= (sub & net_mask) == np.uint32(first)
    bad[idx] = hit
    return bad


def _place_dense(prefixes, capacity, counts, bits: int, rng: np.random.Generator) -> np.ndarray:
    """Placement by sampling offsets without replacement, for /8s (or small spaces) mostly full."""
    chunks = []
    for prefix, cap, count in zip(prefixes.tolist(), capacity.tolist(), counts.tolist()):
        idx = np.sort(rng.choice(cap, size=count, replace=False))
        if bits < 32:
            chunks.append(idx.astype(np.uint32))
            continue
        intervals = _allowed_intervals_in(prefix)
        lows = np.array([lo for lo, _ in intervals], dtype=np.int64)
        starts = np.concatenate(([0], np.cumsum([hi - lo for lo, hi in intervals])[:-1]))
        which = np.searchsorted(starts, idx, side="right") - 1
        chunks.append(((prefix << 24) + lows[which] + (idx - starts[which])).astype(np.uint32))
    addresses = np.concatenate(chunks)
    addresses.sort()
    return addresses


def place_hosts(internet: Internet, rng: np.random.Generator) -> np.ndarray:
    """Sorted, distinct ``uint32`` addresses of the vulnerable hosts.

    Hosts are spread over /8s by a multinomial on usable capacity x weight (capped at capacity),
    then placed uniformly inside their /8 by rejection: an address drawn in a reserved block or
    already taken is drawn again, which yields a uniformly random set of usable addresses.
    With ``internet.nat``, that share of the hosts is placed uniformly in the private 10/8
    instead (``internet/nat.py``); public hosts still never sit in reserved or unrouted space.
    """
    n_nat = nat_count(internet.nat, internet.vulnerable_hosts)
    public = _place_public(internet, internet.vulnerable_hosts - n_nat, rng)
    if n_nat == 0:
        return public
    private = (NAT_SLASH8 << 24) + rng.choice(SLASH8, size=n_nat, replace=False)
    out = np.concatenate((public, private.astype(np.uint32)))
    out.sort()
    return out


def nat_mask(address: np.ndarray, internet: Internet) -> np.ndarray:
    """True for the hosts behind NAT (the only hosts in 10/8)."""
    if internet.nat is None:
        return np.zeros(address.shape, dtype=bool)
    return (address >> 24) == NAT_SLASH8


def _place_public(internet: Internet, n: int, rng: np.random.Generator) -> np.ndarray:
    prefixes, capacity, weights = slash8_layout(internet)
    p = capacity * weights
    counts = rng.multinomial(n, p / p.sum())
    # Move any excess over a /8's capacity to the others (only matters for extreme weights).
    while np.any(counts > capacity):
        excess = int(np.maximum(counts - capacity, 0).sum())
        counts = np.minimum(counts, capacity)
        room = capacity - counts
        counts += rng.multivariate_hypergeometric(room, excess) if excess <= room.sum() else room
    if np.any(counts > capacity // 4):  # dense: rejection would take many rounds
        return _place_dense(prefixes, capacity, counts, internet.address_bits, rng)
    full = internet.address_bits == 32
    span = 1 << 24 if full else 1 << internet.address_bits
    top = np.uint32(0xFF000000 if full else 0)
    addresses = (np.repeat(prefixes, counts) << 24).astype(np.uint32)
    addresses |= rng.integers(0, span, size=n, dtype=np.uint32)
    def redraw_reserved(a: np.ndarray) -> np.ndarray:
        if full:
            bad = _reserved_mask(a)
            while bad.any():
                a[bad] = (a[bad] & top) | rng.integers(0, span, size=int(bad.sum()), dtype=np.uint32)
                bad = _reserved_mask(a)
        return a

    addresses = redraw_reserved(addresses)
    addresses.sort()
    while True:
        dup = np.zeros(addresses.size, dtype=bool)
        dup[1:] = addresses[1:] == addresses[:-1]
        k = int(dup.sum())
        if k == 0:
            return addresses
        # draw the duplicates again in their /8 and merge the (sorted) new ones in: timsort
        # merges two sorted runs in linear time, where a full re-sort would cost n log n
        fresh = redraw_reserved((addresses[dup] & top) | rng.integers(0, span, size=k, dtype=np.uint32))
        fresh.sort()
        addresses = np.concatenate((addresses[~dup], fresh))
        addresses.sort(kind="stable")
