"""Signature files: the shipped rules name the right variants, and bad rule files fail loudly."""

from __future__ import annotations

import pytest

from wormlab.detect.signatures import builtin_rules, load_rule_file, load_ruleset, parse_rules
from wormlab.errors import InputError

N224 = "N" * 224
CODERED = (f"/default.ida?{N224}%u9090%u6858%ucbd3%u7801%u9090%u6858%ucbd3%u7801"
           "%u9090%u6858%ucbd3%u7801%u9090%u9090%u8190%u00c3%u0003%u8b00%u531b%u53ff"
           "%u0078%u0000%u00=a")

CASES = [
    (CODERED, "codered-v1v2", "Code Red v1/v2"),
    (CODERED.replace("N", "X"), "codered-ii", "Code Red II"),
    ("/DEFAULT.IDA?" + "N" * 40, "codered-v1v2", "Code Red v1/v2"),
    ("/default.ida?foo", "ida-attempt", "IIS .ida? attempt"),
    ("/x.idq?CiRestriction=a", "idq-attempt", "IIS .idq? attempt"),
    ("/scripts/root.exe?/c+dir", "root-exe-probe", "root.exe backdoor probe"),
    ("/MSADC/root.exe?/c+dir", "root-exe-probe", "root.exe backdoor probe"),
    ("/c/winnt/system32/cmd.exe?/c+dir", "nimda-cmd-exe", "Nimda"),
    ("/scripts/..%255c../winnt/system32/cmd.exe?/c+dir", "nimda-unicode-traversal", "Nimda"),
    ("/scripts/..%c1%1c../winnt/system32/cmd.exe?/c+dir", "nimda-unicode-traversal", "Nimda"),
    ("/_vti_bin/..%255c../..%255c../winnt/system32/cmd.exe?/c+dir",
     "nimda-unicode-traversal", "Nimda"),
    ("/MSADC/../../../winnt/system32/cmd.exe?/c+dir", "nimda-vti-msadc", "Nimda"),
    ("/scripts/cmd.exe?/c+dir", "cmd-exe-probe", "cmd.exe probe"),
]


@pytest.mark.parametrize(("target", "rule_id", "variant"), CASES)
def test_builtin_rules_name_variant(target: str, rule_id: str, variant: str) -> None:
    rule = load_ruleset().match(target)
    assert rule is not None
    assert (rule.id, rule.variant) == (rule_id, variant)
    assert 0 < rule.confidence <= 1


@pytest.mark.parametrize("target", ["/index.html", "/default.ida", "/docs/../a.html",
                                    "/search?q=idaho", "/images/root.png", "/a%20b.html"])
def test_benign_targets_do_not_match(target: str) -> None:
    assert load_ruleset().match(target) is None


def test_worm_rules_outrank_generic_ones() -> None:
    rules = load_ruleset().rules
    conf = {r.id: r.confidence for r in rules}
    assert conf["codered-v1v2"] > conf["ida-attempt"]
    assert [r.confidence for r in rules] == sorted((r.confidence for r in rules), reverse=True)


def test_anchors_cover_every_rule_prefilter() -> None:
    rs = load_ruleset()
    for rule in rs.rules:
        for lit in rule.prefilter:
            assert any(a in lit for a in rs.anchors), (rule.id, lit)
    assert len(builtin_rules()) == len(rs)


GOOD = '''
format_version = 1
[[rule]]
id = "my-probe"
variant = "My worm"
confidence = 0.8
target_regex = '/evil\\.cgi\\?x{10,}'
prefilter = ["evil.cgi"]
examples = ["/evil.cgi?xxxxxxxxxxxx"]
counterexamples = ["/evil.cgi?x"]
'''


def test_user_rule_file_adds_a_rule(tmp_path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(GOOD)
    rs = load_ruleset([path])
    assert rs.match("/EVIL.cgi?xxxxxxxxxxxxxx").id == "my-probe"
    assert len(rs) == len(builtin_rules()) + 1


@pytest.mark.parametrize(("edit", "needle"), [
    (("target_regex", "target_regexp"), "unknown key(s) 'target_regexp'"),
    (("confidence = 0.8", "confidence = 1.5"), "confidence must be in (0, 1]"),
    (("confidence = 0.8", 'confidence = "high"'), "'confidence' must be a float"),
    (('id = "my-probe"', 'id = "My Probe"'), "id must be"),
    (('prefilter = ["evil.cgi"]', 'prefilter = ["bad.cgi"]'), "none of the prefilter literals"),
    (('examples = ["/evil.cgi?xxxxxxxxxxxx"]', 'examples = ["/evil.cgi?x"]'),
     "does not match target_regex"),
    (('counterexamples = ["/evil.cgi?x"]', 'counterexamples = ["/evil.cgi?xxxxxxxxxxxxxx"]'),
     "counterexample"),
    (("'/evil", "'(/evil"), "target_regex does not compile"),
    (('variant = "My worm"\n', ""), "missing required key(s) 'variant'"),
    (("format_version = 1", "format_version = 1\nrules = []"), "unknown top-level key(s) 'rules'"),
])
def test_bad_rule_files_fail_naming_file_and_key(tmp_path, edit, needle) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(*edit, 1))
    with pytest.raises(InputError) as err:
        load_rule_file(path)
    assert needle in str(err.value)
    assert "bad.toml" in str(err.value)


def test_duplicate_ids_and_broken_toml(tmp_path) -> None:
    with pytest.raises(InputError, match="duplicate signature id"):
        load_ruleset([_write(tmp_path / "a.toml", GOOD), _write(tmp_path / "b.toml", GOOD)])
    with pytest.raises(InputError, match="not valid TOML"):
        parse_rules("[[rule]\n", "x.toml")
    with pytest.raises(InputError, match="cannot read signature file"):
        load_rule_file(tmp_path / "missing.toml")


def _write(path, text):
    path.write_text(text)
    return path
