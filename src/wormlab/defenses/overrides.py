"""``--set`` into a scenario's defences: ``defenses.WHICH.KEY=VALUE``.

WHICH is the defence's position in ``[[defenses]]`` (``defenses.0.reaction_s``, also written
``defenses[0].reaction_s`` as in sweep files), its ``label`` (``defenses.patching.reaction_s``), or its
``kind`` when exactly one defence has that kind (``defenses.patch_campaign.reaction_s``). KEY may go
on into a table (``defenses.patch_campaign.rate_per_h.bank=0.1``). A name that matches no defence,
or several, and a key the defence does not have are one-line errors naming them.
"""

from __future__ import annotations

import re
from typing import Any

from wormlab.errors import ScenarioError

_KEY = re.compile(r"defenses(?:\[(\d+)\]\.|\.([^.\[\]]+)\.)(.+)")


def is_defense_key(key: str) -> bool:
    """True for keys that reach into one defence (not ``defenses=[...]`` as a whole)."""
    return key.startswith(("defenses.", "defenses["))


def _listing(defs: list[Any]) -> str:
    out = []
    for i, d in enumerate(defs):
        kind = d.get("kind", "?") if isinstance(d, dict) else "?"
        label = d.get("label") if isinstance(d, dict) else None
        out.append(f"{i} {label} ({kind})" if label else f"{i} {kind}")
    return ", ".join(out) or "none"


def _which(defs: list[Any], sel: str, key: str, origin: str) -> int:
    if sel.isdigit():
        i = int(sel)
        if i >= len(defs):
            raise ScenarioError(f"{origin}: --set {key}: the scenario has {len(defs)} defences, no "
                                f"defenses.{i}; its defences are: {_listing(defs)}")
        return i
    for field in ("label", "kind"):
        hits = [i for i, d in enumerate(defs) if isinstance(d, dict) and d.get(field) == sel]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise ScenarioError(f"{origin}: --set {key}: {sel!r} names defences {', '.join(map(str, hits))}; "
                                f"give the index instead, e.g. defenses.{hits[0]}.…")
    raise ScenarioError(f"{origin}: --set {key}: no defence {sel!r}; the scenario's defences are: "
                        f"{_listing(defs)}")


def defense_table(raw: dict[str, Any], key: str, origin: str) -> tuple[dict[str, Any], list[str]]:
    """The table of the defence that ``defenses.WHICH.KEY`` names, and KEY split on dots (the
    caller sets it as for any other dotted key); checks WHICH and the first part of KEY."""
    from wormlab.defenses.base import REGISTRY

    match = _KEY.fullmatch(key)
    if not match:
        raise ScenarioError(f"{origin}: --set {key}: expected defenses.WHICH.KEY (WHICH an index, label or "
                            "kind), e.g. defenses.patch_campaign.reaction_s=7200")
    sel = match[1] if match[1] is not None else match[2]
    defs = raw.get("defenses") or []
    i = _which(defs, sel, key, origin)
    parts = match[3].split(".")
    kind = defs[i].get("kind")
    model = REGISTRY.get(kind)
    if model is not None:
        keys = set(model.model_fields) | {f.alias for f in model.model_fields.values() if f.alias}
        if parts[0] not in keys:
            raise ScenarioError(f"{origin}: --set {key}: defence {i} ({kind}) has no key {parts[0]!r}; "
                                f"its keys are: {', '.join(sorted(keys))}")
    return defs[i], parts
