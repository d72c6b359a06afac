"""Turn a scenario's ``[[defenses]]`` into the kernel's ``DefenseArrays`` (and back to context).

``Plan`` holds what the defences' ``install`` methods fill in: one trigger slot each, path filters,
organisation filters, host-level actions. ``plan_defenses`` is what ``engine/simulate.py`` calls;
``engine/reference.py`` reads the same arrays, so both engines run the same defences.
"""

from __future__ import annotations

import math

import numpy as np

from wormlab.engine import kernel_defense as kd
from wormlab.engine import records
from wormlab.engine.fenwick import fen_add
from wormlab.errors import ScenarioError


class Plan:
    """Arrays under construction for one run (``n`` hosts, steps of ``dt_s`` seconds)."""

    def __init__(self, sc, n: int, placement=None, network=None):
        self.sc, self.n, self.placement, self.network = sc, n, placement, network
        self.dt_s = sc.time.step_s
        self.start = sc.time.start
        self.trig_start: list[int] = []
        self.trig_cond: list[int] = []
        self.trig_delay: list[int] = []
        self.path: list[tuple[int, int, int, np.ndarray]] = []  # slot, kind, reaction steps, crosses
        n_org = len(network.org_name) if network is not None else 0
        self.org_ingress = np.full(n_org, -1, dtype=np.int64)
        self.org_egress = np.full(n_org, -1, dtype=np.int64)
        self.slots = np.full(4, -1, dtype=np.int64)
        self.params = np.zeros(8)
        self.patch_h_type = np.zeros(0)
        self.shut_mark = np.zeros(0, dtype=np.uint8)
        self.throttled = np.zeros(0, dtype=np.uint8)
        self.needs_host_rates = False

    def steps(self, seconds: float) -> int:
        return int(math.ceil(seconds / self.dt_s - 1e-9))

    def add_trigger(self, spec) -> int:
        """A trigger slot for ``spec``: its first step, condition and reaction delay."""
        delay = self.steps(spec.reaction_s)
        if spec.when_infected_above is not None:
            start, cond = int(kd.NEVER), int(spec.when_infected_above)
        else:
            t0 = 0 if spec.at is None else self.steps((spec.at - self.start).total_seconds())
            start, cond = t0 + delay, -1
        self.trig_start.append(start)
        self.trig_cond.append(cond)
        self.trig_delay.append(delay)
        return len(self.trig_start) - 1

    def rng(self, salt: int) -> np.random.Generator:
        """A generator for deployment choices: fixed by the network seed, not the run seed."""
        seed = self.network.seed if self.network is not None else 0
        return np.random.default_rng([seed, salt])

    def arrays(self, infection: np.ndarray, ever: np.ndarray) -> kd.DefenseArrays:
        p = self.placement
        n_as = self.network.topology.n_as if self.network is not None else 0
        crosses = np.zeros((len(self.path), n_as, n_as), dtype=np.uint8)
        for i, (_, _, _, c) in enumerate(self.path):
            crosses[i] = c
        has_org = (self.org_ingress >= 0).any() or (self.org_egress >= 0).any()
        guard = np.zeros((2, 0), np.uint64)
        if has_org:  # which hosts an organisation filter can ever concern (kernel_defense.accept_hit)
            guard = np.zeros((2, -(-self.n // 64)), np.uint64)
            guard[kd.GUARD_IN] = _bitset(np.take(self.org_ingress >= 0, p.host_org) & (p.web_server == 0))
            if (self.org_egress >= 0).any():
                guard[kd.GUARD_OUT] = _bitset(np.take(self.org_egress >= 0, p.host_org))
        return kd.empty_arrays(
            active=bool(self.path) or has_org,
            # the per-step host hook: host-level defences, or condition triggers to watch
            host_active=bool((self.slots >= 0).any() or any(c >= 0 for c in self.trig_cond)),
            trig_start=np.array(self.trig_start, dtype=np.int64),
            trig_cond=np.array(self.trig_cond, dtype=np.int64),
            trig_delay=np.array(self.trig_delay, dtype=np.int64),
            host_as=p.host_as if p is not None else np.zeros(0, np.int32),
            host_org=p.host_org if p is not None else np.zeros(0, np.int32),
            host_type=p.host_type if p is not None else np.zeros(self.n, np.int8),
            web_server=p.web_server if p is not None else np.zeros(0, np.uint8),
            path_slot=np.array([s for s, _, _, _ in self.path], dtype=np.int64),
            path_kind=np.array([k for _, k, _, _ in self.path], dtype=np.int64),
            path_reaction=np.array([r for _, _, r, _ in self.path], dtype=np.int64),
            crosses=crosses,
            org_ingress=self.org_ingress if has_org else np.zeros(0, np.int64),
            # empty when no organisation filters outbound: the kernel then draws one source per
            # target whose organisation does not filter inbound (no hit on it can be blocked)
            org_egress=self.org_egress if (self.org_egress >= 0).any() else np.zeros(0, np.int64),
            host_guard=guard,
            org_span=_spans(p) if has_org else np.zeros((0, 2), np.int64),
            slots=self.slots, params=self.params, patch_h_type=self.patch_h_type,
            shut_mark=self.shut_mark, throttled=self.throttled,
            status=np.array([0, 0, 0, sum(c >= 0 for c in self.trig_cond)], dtype=np.int64),
            infection=infection, ever=ever,
        )


def _spans(p) -> np.ndarray:
    """Each organisation's hosts as an index range [first, end) (one block of addresses each)."""
    counts = np.bincount(p.host_org, minlength=len(p.org_first_host))
    return np.stack([p.org_first_host, p.org_first_host + counts], axis=1).astype(np.int64)


def _bitset(flags: np.ndarray) -> np.ndarray:
    """Bit h % 64 of word h // 64 set where ``flags[h]``."""
    packed = np.packbits(flags.astype(bool), bitorder="little")
    words = np.zeros(-(-flags.size // 64) * 8, np.uint8)
    words[: packed.size] = packed
    return words.view("<u8").astype(np.uint64)


def network_of(sc):
    """The scenario's network (the synthetic default when it has no ``[network]``)."""
    from wormlab.defenses.schema import NetworkSpec
    from wormlab.internet.organisations import cached_network

    spec = sc.network if sc.network is not None else NetworkSpec()
    return cached_network(spec.model_dump_json())


def make_plan(sc, n: int) -> Plan:
    """Install every defence of ``sc`` into a new Plan for ``n`` hosts."""
    need_net = sc.network is not None or any(d.wants_network() for d in sc.defenses)
    network = network_of(sc) if need_net else None
    placement = network.assign(n) if network is not None else None
    plan = Plan(sc, n, placement, network)
    for i, spec in enumerate(sc.defenses):
        if not spec.in_kernel:
            continue
        try:
            spec.install(plan, plan.add_trigger(spec))
        except KeyError as err:  # install raises KeyError((key, message)) on a bad name
            key, msg = err.args[0] if isinstance(err.args[0], tuple) else ("", str(err.args[0]))
            raise ScenarioError(f"{sc.name}: defenses[{i}].{key}: {msg}") from None
    return plan


def plan_defenses(sc, infection, ever, uniform_rate: float, fen, rates, state):
    """What ``simulate`` needs: (defence arrays, uniform rate, Fenwick tree).

    When a defence changes probe rates (throttling) the run leaves the uniform-rate shortcut, and
    the Fenwick tree is rebuilt over the hosts infected so far.
    """
    if not any(d.in_kernel for d in sc.defenses):
        return kd.no_defense(), uniform_rate, fen
    plan = make_plan(sc, state.shape[0])
    if plan.needs_host_rates and uniform_rate > 0.0:
        uniform_rate = 0.0
        fen = np.zeros(state.shape[0] + 1)
        for h in np.flatnonzero((state & records.STATE_MASK) == records.INFECTED):
            fen_add(fen, int(h), rates[h])
    return plan.arrays(infection, ever), uniform_rate, fen
