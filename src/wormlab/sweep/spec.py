"""SWEEP.toml and the resolved plan: which scenario, which parameter points, which seeds.

A plan is everything that decides what each run computes. It is stored in the sweep directory
(``sweep.json``) so a run can be re-run from its index alone, and its fingerprint guards a
directory against results of a different definition being mixed in.

Run ``i`` belongs to parameter point ``i // runs_per_point`` and replicate ``i % runs_per_point``;
its seed is spawned from the root ``SeedSequence`` by ``i`` (or by the replicate with
``common_seeds``, so all points share seeds), never by worker or completion order.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import tomllib
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wormlab.errors import ScenarioError

FORMAT_VERSION = 1
DISTRIBUTIONS = ("uniform", "log_uniform", "integers", "choice")
TOP_KEYS = {"scenario", "description", "runs_per_point", "root_seed", "common_seeds", "out", "set", "grid", "random"}
KEY_PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)(?:\[(\d+)\])?$")
RESERVED_COLUMNS = {"run_index", "point_index", "replicate", "seed", "status"}


@dataclass(frozen=True)
class RunSpec:
    """What one task needs: identifiers, seed, swept values and the validated Scenario."""

    index: int
    point_index: int
    replicate: int
    seed: int
    params: dict[str, Any]
    scenario: Any


@dataclass(frozen=True)
class Plan:
    """A resolved sweep: base scenario (as a dict), parameter points, seeds per point."""

    scenario: dict[str, Any]
    points: list[dict[str, Any]]
    runs_per_point: int
    root_seed: int
    common_seeds: bool = False
    description: str = ""
    param_keys: list[str] = field(default_factory=list)

    @property
    def n_runs(self) -> int:
        return len(self.points) * self.runs_per_point

    def point_of(self, run_index: int) -> int:
        return run_index // self.runs_per_point

    def seed_of(self, run_index: int) -> int:
        """The run's int seed, spawned from the root SeedSequence by run (or replicate) index."""
        key = run_index % self.runs_per_point if self.common_seeds else run_index
        child = np.random.SeedSequence(self.root_seed, spawn_key=(key,))
        return int(child.generate_state(1, dtype=np.uint32)[0])

    def scenario_of(self, run_index: int):
        """The validated Scenario of the run's parameter point."""
        from wormlab.scenario import scenario_from_dict

        point = self.point_of(run_index)
        raw = json.loads(json.dumps(self.scenario))
        for key, value in self.points[point].items():
            set_key(raw, key, value, origin=f"sweep point {point}")
        return scenario_from_dict(raw, origin=f"sweep point {point} ({_describe(self.points[point])})")

    def run_spec(self, run_index: int, scenario: Any = None) -> RunSpec:
        """The task of run ``run_index`` (pass the point's Scenario to skip re-validating it)."""
        if not 0 <= run_index < self.n_runs:
            raise ScenarioError(f"run index {run_index} is out of range: this sweep has runs 0..{self.n_runs - 1}")
        point = self.point_of(run_index)
        return RunSpec(index=run_index, point_index=point, replicate=run_index % self.runs_per_point,
                       seed=self.seed_of(run_index), params=self.points[point],
                       scenario=scenario if scenario is not None else self.scenario_of(run_index))

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "description": self.description,
            "scenario": self.scenario,
            "param_keys": self.param_keys,
            "points": self.points,
            "runs_per_point": self.runs_per_point,
            "root_seed": self.root_seed,
            "common_seeds": self.common_seeds,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(scenario=data["scenario"], points=data["points"], runs_per_point=data["runs_per_point"],
                   root_seed=data["root_seed"], common_seeds=data["common_seeds"],
                   description=data.get("description", ""), param_keys=data["param_keys"])

    def fingerprint(self) -> str:
        """Hash of what decides the results (not the description)."""
        body = self.to_json()
        body.pop("description")
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def param_column(key: str) -> str:
    """The column name of a swept key: ``defenses[0].delay_s`` -> ``defenses_0_delay_s``."""
    return re.sub(r"[.\[\]]+", "_", key).strip("_")


def _parts(key: str, origin: str) -> list[tuple[str, int | None]]:
    """``defenses[0].at`` -> [("defenses", 0), ("at", None)]."""
    parts = []
    for part in key.split("."):
        match = KEY_PART.match(part)
        if not match:
            raise ScenarioError(f"{origin}: {key}: not a dotted key (e.g. worm.probe_rate_per_s or defenses[0].at)")
        parts.append((match[1], int(match[2]) if match[2] is not None else None))
    return parts


def set_key(raw: dict[str, Any], key: str, value: Any, origin: str) -> None:
    """Set a dotted key in a raw scenario mapping; ``name[i]`` steps into the i-th table of a list."""
    node: Any = raw
    parts = _parts(key, origin)
    for depth, (name, index) in enumerate(parts):
        last = depth == len(parts) - 1
        if index is None:
            if last:
                node[name] = value
                return
            node = node.setdefault(name, {})
        else:
            items = node.get(name)
            if not isinstance(items, list) or index >= len(items):
                have = len(items) if isinstance(items, list) else 0
                raise ScenarioError(f"{origin}: {key}: the scenario has {have} {name} entries, no [{index}]")
            if last:
                items[index] = value
                return
            node = items[index]
        if not isinstance(node, dict):
            raise ScenarioError(f"{origin}: {key}: {name!r} is not a table, cannot set a key inside it")


def _describe(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in point.items()) or "no parameters"


def ensemble_plan(scenario: str | Path, runs: int, root_seed: int = 0, overrides: list[str] | None = None) -> Plan:
    """The plan of ``wormlab run SCENARIO --runs N``: one point, ``runs`` seeds."""
    from wormlab.scenario import load_scenario

    if runs < 1:
        raise ScenarioError(f"--runs must be at least 1, got {runs}")
    sc = load_scenario(scenario, overrides=overrides or [])
    return Plan(scenario=sc.model_dump(mode="json", by_alias=True), points=[{}], runs_per_point=runs,
                root_seed=root_seed)


def load_sweep_file(path: str | Path) -> tuple[Plan, Path | None]:
    """Read SWEEP.toml into a Plan (every point validated); also return its ``out`` if set."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"{path}: no such sweep file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: not valid TOML: {err}") from None
    plan = plan_from_dict(raw, origin=str(path), base_dir=path.parent)
    out = raw.get("out")
    return plan, (path.parent / out if out else None)


def plan_from_dict(raw: dict[str, Any], origin: str, base_dir: Path = Path(".")) -> Plan:
    """Validate a SWEEP mapping: known keys, a scenario, non-empty grid/random, valid points."""
    from wormlab.scenario import load_scenario

    unknown = set(raw) - TOP_KEYS
    if unknown:
        raise ScenarioError(f"{origin}: {sorted(unknown)[0]}: unknown key; allowed: {', '.join(sorted(TOP_KEYS))}")
    if "scenario" not in raw:
        raise ScenarioError(f"{origin}: scenario: required key is missing (a built-in name or a .toml path)")
    name = str(raw["scenario"])
    local = base_dir / name
    sc = load_scenario(local if local.suffix == ".toml" and local.is_file() else name,
                       overrides=_flatten(raw.get("set", {}), origin, "set", leaf=_any_leaf))
    runs_per_point = _int(raw.get("runs_per_point", 1), origin, "runs_per_point", minimum=1)
    root_seed = _int(raw.get("root_seed", 0), origin, "root_seed", minimum=0)
    common = raw.get("common_seeds", False)
    if not isinstance(common, bool):
        raise ScenarioError(f"{origin}: common_seeds: expected true or false, got {common!r}")
    grid_points = _grid_points(raw["grid"], origin) if "grid" in raw else [{}]
    random_points = _random_points(raw["random"], origin, root_seed) if "random" in raw else [{}]
    points = [{**g, **r} for g in grid_points for r in random_points]
    keys = list(points[0])
    _check_keys(sc, keys, origin)
    plan = Plan(scenario=sc.model_dump(mode="json", by_alias=True), points=points, runs_per_point=runs_per_point,
                root_seed=root_seed, common_seeds=common, description=str(raw.get("description", "")),
                param_keys=keys)
    for i in range(len(points)):  # fail before any run if a point is not a valid scenario
        plan.scenario_of(i * runs_per_point)
    return plan


def _int(value: Any, origin: str, key: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ScenarioError(f"{origin}: {key}: expected an integer >= {minimum}, got {value!r}")
    return value


def _any_leaf(value: Any) -> bool:
    return not isinstance(value, dict)


def _flatten(table: Any, origin: str, section: str, leaf) -> dict[str, Any]:
    """Nested TOML tables to dotted keys (``[grid.worm] probe_rate_per_s`` = ``"worm.probe_rate_per_s"``)."""
    if not isinstance(table, dict):
        raise ScenarioError(f"{origin}: {section}: expected a table")
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{section}.{key}"
        if leaf(value):
            flat[key] = value
        else:
            for sub, v in _flatten(value, origin, dotted, leaf).items():
                flat[f"{key}.{sub}"] = v
    return flat


def _grid_points(table: Any, origin: str) -> list[dict[str, Any]]:
    flat = _flatten(table, origin, "grid", leaf=lambda v: not isinstance(v, dict))
    if not flat:
        raise ScenarioError(f"{origin}: grid: empty grid; give each swept key a list of values, "
                            "e.g. \"worm.probe_rate_per_s\" = [3.0, 4.3]")
    for key, values in flat.items():
        if not isinstance(values, list) or not values:
            raise ScenarioError(f"{origin}: grid.{key}: expected a non-empty list of values, got {values!r}")
        flat[key] = _unify_numbers(values)
    return [dict(zip(flat, combo)) for combo in itertools.product(*flat.values())]


def _unify_numbers(values: list[Any]) -> list[Any]:
    """[1, 2.5] -> [1.0, 2.5], so a column has one type in every run's file."""
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numeric and any(isinstance(v, float) for v in values):
        return [float(v) for v in values]
    return values


def _random_points(table: Any, origin: str, root_seed: int) -> list[dict[str, Any]]:
    """Points drawn from the root seed's own stream (distinct from every run's spawned stream)."""
    if not isinstance(table, dict):
        raise ScenarioError(f"{origin}: random: expected a table")
    table = dict(table)
    n = _int(table.pop("points", None), origin, "random.points", minimum=1)
    dists = _flatten(table, origin, "random", leaf=lambda v: not isinstance(v, dict) or set(v) & set(DISTRIBUTIONS))
    if not dists:
        raise ScenarioError(f"{origin}: random: no keys to sample; e.g. \"worm.probe_rate_per_s\" = {{ uniform = [3, 6] }}")
    rng = np.random.default_rng(np.random.SeedSequence(root_seed))
    columns: dict[str, list[Any]] = {}
    for key, spec in dists.items():
        columns[key] = _draw(spec, n, rng, f"{origin}: random.{key}")
    return [{k: columns[k][i] for k in columns} for i in range(n)]


def _draw(spec: Any, n: int, rng, where: str) -> list[Any]:
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
        raise ScenarioError(f"{where}: expected one of {{ uniform = [lo, hi] }}, {{ log_uniform = [lo, hi] }}, "
                            f"{{ integers = [lo, hi] }}, {{ choice = [a, b, ...] }}; got {spec!r}")
    kind, arg = next(iter(spec.items()))
    if kind == "choice":
        if not isinstance(arg, list) or not arg:
            raise ScenarioError(f"{where}: choice needs a non-empty list")
        return [arg[int(j)] for j in rng.integers(0, len(arg), n)]
    if not (isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, (int, float)) for a in arg)
            and arg[0] <= arg[1]):
        raise ScenarioError(f"{where}: {kind} needs [lo, hi] with lo <= hi, got {arg!r}")
    lo, hi = arg
    if kind == "integers":
        return [int(v) for v in rng.integers(int(lo), int(hi), n, endpoint=True)]
    if kind == "log_uniform":
        if lo <= 0:
            raise ScenarioError(f"{where}: log_uniform needs lo > 0, got {lo}")
        return [float(v) for v in np.exp(rng.uniform(math.log(lo), math.log(hi), n))]
    return [float(v) for v in rng.uniform(lo, hi, n)]


def _check_keys(sc, keys: list[str], origin: str) -> None:
    """Swept keys must name scenario fields (a typo fails before any run, listing the known keys).

    The walk follows nested tables and ``name[i]`` list entries while the schema is a plain
    model; past a union (e.g. a defence's kind) validating the points catches unknown keys.
    """
    from pydantic import BaseModel

    for key in keys:
        model: Any = type(sc)
        for name, index in _parts(key, origin):
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                if model in (int, float, str, bool):
                    raise ScenarioError(f"{origin}: {key}: {name!r} is inside a value that has no sub-keys")
                break  # a mapping or a union: checked when the points are validated
            fields = {f.alias or n: f for n, f in model.model_fields.items()}
            if name not in fields:
                raise ScenarioError(f"{origin}: {key}: the scenario has no key {name!r} here; "
                                    f"known: {', '.join(sorted(fields))}")
            model = _field_type(fields[name].annotation, index is not None)
        if param_column(key) in RESERVED_COLUMNS:
            raise ScenarioError(f"{origin}: {key}: clashes with the column {param_column(key)!r}")
    if len({param_column(k) for k in keys}) != len(keys):
        raise ScenarioError(f"{origin}: two swept keys map to the same column name")


def _field_type(annotation: Any, indexed: bool) -> Any:
    """The model (or plain type) a key step leads to; ``indexed`` steps into a list's items."""
    import typing

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if indexed:
        return _field_type(args[0], False) if origin is list and args else None
    if origin in (typing.Union, types.UnionType):  # X | None -> X
        rest = [a for a in args if a is not type(None)]
        return _field_type(rest[0], False) if len(rest) == 1 else None
    return annotation if origin is None else origin
