"""Signatures as data: load, validate and match TOML rule files.

A rule says which request targets betray a worm (a regular expression), which cheap literals
every match must contain (``prefilter``: lets the log scanner skip most lines without parsing
them), the variant it names and how sure a match is (``confidence``). Every rule carries
``examples`` that must match and may carry ``counterexamples`` that must not; both are checked
at load time, so a rule whose regex or prefilter is wrong fails loudly, naming the file and rule.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from wormlab.errors import InputError

_RULE_KEYS = {
    "id": str, "variant": str, "confidence": float, "target_regex": str, "prefilter": list,
    "examples": list, "counterexamples": list, "description": str, "references": list,
    "ignore_case": bool,
}
_REQUIRED = ("id", "variant", "confidence", "target_regex", "prefilter", "examples")
_TOP_KEYS = {"format_version", "rule"}
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Rule:
    """One signature. ``prefilter`` literals are lower-case; a target must contain one of them."""

    id: str
    variant: str
    confidence: float
    target_regex: re.Pattern[str]
    prefilter: tuple[str, ...]
    description: str = ""
    references: tuple[str, ...] = ()
    source: str = ""

    def matches(self, target: str) -> bool:
        low = target.lower()
        if not any(lit in low for lit in self.prefilter):
            return False
        return self.target_regex.search(target) is not None


class RuleSet:
    """Rules in match order: highest confidence first, then file order; first match wins."""

    def __init__(self, rules: list[Rule]) -> None:
        ids = [r.id for r in rules]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise InputError(f"duplicate signature id(s) {', '.join(sorted(dup))} across rule files")
        order = sorted(range(len(rules)), key=lambda i: (-rules[i].confidence, i))
        self.rules = [rules[i] for i in order]
        lits = {lit for r in rules for lit in r.prefilter}
        # Keep only literals that contain no shorter literal: fewer substring searches per chunk.
        self.anchors = tuple(sorted(
            lit for lit in lits if not any(o != lit and o in lit for o in lits)))
        self._memo: dict[str, Rule | None] = {}

    def match(self, target: str) -> Rule | None:
        """The best rule that matches a request target, or None.

        Worms repeat one request verbatim, so answers are remembered (a bounded memo).
        """
        memo = self._memo
        if target in memo:
            return memo[target]
        found = None
        for rule in self.rules:
            if rule.matches(target):
                found = rule
                break
        if len(memo) >= 65536:
            memo.clear()
        memo[target] = found
        return found

    def by_id(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        known = ", ".join(r.id for r in self.rules)
        raise InputError(f"no signature with id {rule_id!r}; known ids: {known}")

    def __len__(self) -> int:
        return len(self.rules)


def _fail(where: str, msg: str) -> InputError:
    return InputError(f"{where}: {msg}")


def _check_type(where: str, key: str, value: object, kind: type) -> None:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise _fail(where, f"key {key!r} must be a {kind.__name__}, not {type(value).__name__}")
    if kind is list and not all(isinstance(v, str) for v in value):  # type: ignore[union-attr]
        raise _fail(where, f"key {key!r} must be a list of strings")


def _parse_rule(raw: object, where: str, source: str) -> Rule:
    if not isinstance(raw, dict):
        raise _fail(where, "each [[rule]] must be a table")
    unknown = sorted(set(raw) - set(_RULE_KEYS))
    if unknown:
        raise _fail(where, f"unknown key(s) {', '.join(map(repr, unknown))}; "
                           f"allowed: {', '.join(sorted(_RULE_KEYS))}")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise _fail(where, f"missing required key(s) {', '.join(map(repr, missing))}")
    for key, value in raw.items():
        _check_type(where, key, value, _RULE_KEYS[key])
    rid = raw["id"]
    where = f"{where} (id {rid!r})"
    if not _ID.match(rid):
        raise _fail(where, "id must be 1-64 of a-z, 0-9, '.', '_', '-', starting alphanumeric")
    conf = float(raw["confidence"])
    if not 0.0 < conf <= 1.0:
        raise _fail(where, f"confidence must be in (0, 1], got {conf}")
    if not raw["variant"].strip():
        raise _fail(where, "variant must not be empty")
    flags = re.IGNORECASE if raw.get("ignore_case", True) else 0
    try:
        rx = re.compile(raw["target_regex"], flags)
    except re.error as err:
        raise _fail(where, f"target_regex does not compile: {err}") from None
    prefilter = tuple(lit.lower() for lit in raw["prefilter"])
    if not prefilter or any(len(lit) < 2 for lit in prefilter):
        raise _fail(where, "prefilter needs at least one literal of 2 or more characters")
    if not raw["examples"]:
        raise _fail(where, "examples must hold at least one request target the rule matches")
    rule = Rule(rid, raw["variant"], conf, rx, prefilter, raw.get("description", ""),
                tuple(raw.get("references", ())), source)
    for ex in raw["examples"]:
        if rx.search(ex) is None:
            raise _fail(where, f"example {ex[:60]!r} does not match target_regex")
        if not rule.matches(ex):
            raise _fail(where, f"example {ex[:60]!r} contains none of the prefilter literals")
    for ex in raw.get("counterexamples", ()):
        if rule.matches(ex):
            raise _fail(where, f"counterexample {ex[:60]!r} matches the rule")
    return rule


def parse_rules(text: str, source: str) -> list[Rule]:
    """Rules from the text of one TOML rule file; ``source`` names it in errors."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{source}: not valid TOML: {err}") from None
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise InputError(f"{source}: unknown top-level key(s) {', '.join(map(repr, unknown))}; "
                         f"allowed: format_version, rule")
    if doc.get("format_version", 1) != 1:
        raise InputError(f"{source}: format_version must be 1")
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        raise InputError(f"{source}: no [[rule]] tables found")
    return [_parse_rule(r, f"{source}: rule #{i + 1}", source) for i, r in enumerate(raw_rules)]


def load_rule_file(path: str | Path) -> list[Rule]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read signature file {path}: {err}") from None
    return parse_rules(text, str(path))


def builtin_rules() -> list[Rule]:
    """The signatures shipped with wormlab (``detect/signatures/*.toml``)."""
    rules: list[Rule] = []
    folder = resources.files("wormlab.detect").joinpath("signatures")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            rules.extend(parse_rules(entry.read_text(encoding="utf-8"), f"builtin {entry.name}"))
    return rules


def load_ruleset(extra_files: list[str | Path] | None = None, builtin: bool = True) -> RuleSet:
    """The built-in rules plus any user files (``--signatures FILE``)."""
    rules = builtin_rules() if builtin else []
    for path in extra_files or ():
        rules.extend(load_rule_file(path))
    if not rules:
        raise InputError("no signatures loaded: give --signatures FILE or keep the built-in ones")
    return RuleSet(rules)
