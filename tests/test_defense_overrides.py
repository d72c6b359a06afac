"""``--set defenses.WHICH.KEY=VALUE`` through the CLI and the API, and the bad-input list of issue 5
(unknown AS or organisation in a deployment, compliance outside [0, 1], a trigger before the
scenario starts): one line naming the key, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import TINY_TOML
from wormlab.cli import main
from wormlab.errors import ScenarioError
from wormlab.scenario import load_scenario

DEFENDED = TINY_TOML + """
[[defenses]]
kind = "patch_campaign"
label = "patching"
rate_per_h = { bank = 0.5 }
when_infected_above = 50

[[defenses]]
kind = "shutdown"
compliance = 0.5
duration_s = 60
at = 2001-07-19T10:30:00Z
"""


@pytest.fixture
def defended_toml(tmp_path):
    path = tmp_path / "defended.toml"
    path.write_text(DEFENDED)
    return path


@pytest.mark.parametrize(
    ("key", "value", "index", "field", "expected"),
    [
        ("defenses.patch_campaign.reaction_s", "7200", 0, "reaction_s", 7200.0),  # by kind
        ("defenses.patching.when_infected_above", "80", 0, "when_infected_above", 80),  # by label
        ("defenses.1.compliance", "0.9", 1, "compliance", 0.9),  # by index
        ("defenses[1].duration_s", "120", 1, "duration_s", 120.0),  # as in sweep files
        ("defenses.patch_campaign.rate_per_h.enterprise", "0.25", 0, "rate_per_h",
         {"bank": 0.5, "enterprise": 0.25}),  # into a table
    ],
)
def test_set_reaches_one_defence(defended_toml, key, value, index, field, expected):
    sc = load_scenario(defended_toml, overrides=[f"{key}={value}"])
    assert getattr(sc.defenses[index], field) == expected
    other = sc.defenses[1 - index]
    assert other == load_scenario(defended_toml).defenses[1 - index]  # the other one is untouched


def test_set_into_a_defence_changes_the_run_through_the_cli(defended_toml, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["run", str(defended_toml), "--quiet", "--json", "--no-plot", "--out", str(out),
                 "--set", "defenses.shutdown.compliance=1.0", "--set", "worm.probe_rate_per_s=3"]) == 0
    saved = json.loads((out / "scenario.json").read_text())
    assert saved["defenses"][1]["compliance"] == 1.0
    assert saved["worm"]["probe_rate_per_s"] == 3  # the old forms still work alongside
    summary = json.loads(capsys.readouterr().out)
    # everyone off at 10:30 for a minute, back cured: nobody is infected at 10:31
    hourly = {h["time"]: h for h in summary["hourly"]}
    assert hourly["2001-07-19T11:00:00Z"]["infected"] == 0


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("defenses.firewall.reaction_s=5", "no defence 'firewall'"),
        ("defenses.shutdown.complience=0.5", "has no key 'complience'"),
        ("defenses.5.at=2001-07-19T10:10:00Z", "no defenses.5"),
        ("defenses.shutdown.compliance=1.5", "compliance"),
        ("defenses.shutdown.compliance=-0.1", "compliance"),
        ("defenses.shutdown.at=2001-07-19T09:00:00Z", "defenses[1].at"),
    ],
)
def test_bad_set_is_one_line_and_exit_2(defended_toml, tmp_path, capsys, override, needle):
    assert main(["run", str(defended_toml), "--quiet", "--out", str(tmp_path / "o"), "--set", override]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and needle in err and "\n" not in err


def test_two_defences_of_one_kind_need_an_index(tmp_path):
    path = tmp_path / "two.toml"
    path.write_text(TINY_TOML + '[[defenses]]\nkind = "reboot_campaign"\nrate_per_h = 1.0\n'
                    '[[defenses]]\nkind = "reboot_campaign"\nrate_per_h = 2.0\n')
    with pytest.raises(ScenarioError, match=r"names defences 0, 1; give the index"):
        load_scenario(path, overrides=["defenses.reboot_campaign.rate_per_h=3"])
    assert load_scenario(path, overrides=["defenses.1.rate_per_h=3"]).defenses[1].rate_per_h == 3


def test_bad_set_as_a_real_subprocess(defended_toml, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "wormlab", "run", str(defended_toml), "--quiet",
                           "--out", str(tmp_path / "o"), "--set", "defenses.nothing.at=1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no defence 'nothing'" in proc.stderr


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        # a deployment naming an unknown AS or organisation
        ('kind = "address_blacklist"\ndeploy = "list"\nases = [77777]', "defenses[0].ases: AS 77777"),
        ('kind = "content_filter"\ndeploy = "list"\nases = [77777]', "defenses[0].ases: AS 77777"),
        ('kind = "ingress_filter"\norganisations = ["acme-nowhere"]', "defenses[0].organisations"),
        ('kind = "egress_filter"\norganisations = ["acme-nowhere"]', "defenses[0].organisations"),
        # compliance and deployment fractions outside [0, 1]
        ('kind = "shutdown"\ncompliance = -0.2\nduration_s = 60', "compliance"),
        ('kind = "shutdown"\ncompliance = 1.01\nduration_s = 60', "compliance"),
        ('kind = "throttle"\nfraction = 1.5\nrate_per_s = 1', "fraction"),
        ('kind = "ingress_filter"\norg_types = ["bank"]\nfraction = -1', "fraction"),
        # a trigger before the scenario starts (or after it ends)
        ('kind = "reboot_campaign"\nrate_per_h = 1\nat = 2001-07-19T09:59:59Z', "defenses[0].at"),
        ('kind = "content_filter"\nat = 2001-07-20T00:00:00Z', "defenses[0].at"),
    ],
)
def test_bad_deployment_compliance_and_trigger_exit_2(tmp_path, capsys, table, needle):
    path = tmp_path / "bad.toml"
    path.write_text(TINY_TOML + "[[defenses]]\n" + table + "\n")
    assert main(["run", str(path), "--quiet", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and needle in err and "\n" not in err
