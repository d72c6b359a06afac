"""Bad defence input: one line naming the key, a ScenarioError in the API and exit 2 in the CLI."""

from __future__ import annotations

import pytest

from tests.conftest import tiny_dict
from wormlab.errors import ScenarioError
from wormlab.scenario import scenario_from_dict


def load(defenses, **extra):
    return scenario_from_dict(tiny_dict(defenses=defenses, **extra), origin="t.toml")


@pytest.mark.parametrize(
    ("defenses", "extra", "needle"),
    [
        ([{"kind": "firewall"}], {}, "defenses[0]"),
        ([{"kind": "content_filter", "reacton_s": 5}], {}, "reacton_s: unknown key"),
        ([{"kind": "content_filter", "reaction_s": -1}], {}, "reaction_s"),
        ([{"kind": "shutdown", "compliance": 1.5, "duration_s": 60}], {}, "compliance"),
        ([{"kind": "shutdown", "compliance": 0.5, "duration_s": 60, "at": "2001-07-18T00:00:00Z"}], {},
         "defenses[0].at"),
        ([{"kind": "content_filter", "deploy": "list", "ases": [99999]}], {}, "defenses[0].ases: AS 99999"),
        ([{"kind": "egress_filter", "organisations": ["nobody"]}], {}, "defenses[0].organisations"),
        ([{"kind": "ingress_filter", "org_types": ["castle"]}], {}, "org_types"),
        ([], {"network": {"tier1_ase": 3}}, "network.tier1_ase: unknown key"),
        ([{"kind": "reboot_campaign", "rate_per_h": 1, "at": "2001-07-19T10:10:00Z",
           "when_infected_above": 3}], {}, "not both"),
    ],
)
def test_bad_defence_input_names_the_key(defenses, extra, needle):
    with pytest.raises(ScenarioError) as err:
        load(defenses, **extra)
    msg = str(err.value)
    assert needle in msg and "\n" not in msg


def test_cli_exits_2_with_one_line(tmp_path, tiny_toml):
    from wormlab.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text(tiny_toml.read_text() + '\n[[defenses]]\nkind = "shutdown"\ncompliance = 2.0\nduration_s = 60\n')
    assert main(["run", str(bad), "--quiet", "--out", str(tmp_path / "o")]) == 2


def test_every_registered_kind_is_a_scenario_kind():
    from wormlab.defenses.base import REGISTRY

    assert {"patch_campaign", "reboot_campaign", "shutdown", "ingress_filter", "egress_filter", "content_filter",
            "address_blacklist", "throttle", "renumber"} <= set(REGISTRY)
