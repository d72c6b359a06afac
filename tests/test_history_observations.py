"""The history dataset: every number has a source and a confidence, and the file is strict."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wormlab.errors import InputError
from wormlab.history import for_event, load_observations, observation, observations_frame
from wormlab.history.observations import CONFIDENCES


def test_every_number_has_a_source_and_a_confidence():
    records = load_observations()
    assert len(records) >= 20
    for obs in records:
        assert obs.confidence in CONFIDENCES, obs.id
        assert obs.source and len(obs.citation) > 20 and obs.source_short, obs.id
        assert obs.value is not None or obs.at is not None, obs.id
    assert len({o.id for o in records}) == len(records)


def test_the_issue_s_events_are_all_present():
    events = {o.event for o in load_observations()}
    assert {"codered-2001-07-19", "codered-2001-08-01", "slammer-2003-01-25", "warhol-2002"} <= events


def test_code_red_headline_numbers():
    assert observation("codered-0719.ever_infected").value == 359_000
    assert observation("codered-0719.ever_infected").relation == "more_than"
    assert observation("codered-0719.ever_infected").firm
    assert observation("codered-0719.early_doubling").value == 37
    assert observation("codered-0719.onset").at == datetime(2001, 7, 19, 10, tzinfo=UTC)
    assert not observation("codered-0801.hosts").firm


def test_describe_reads_like_the_source():
    assert observation("codered-0719.peak_rate").describe() == "more than 2,000 hosts per minute"


def test_lookup_errors_name_what_is_known():
    with pytest.raises(InputError, match="codered-0719.ever_infected"):
        observation("nope")
    with pytest.raises(InputError, match="slammer-2003-01-25"):
        for_event("nimda")


def test_frame_has_one_row_per_observation():
    frame = observations_frame()
    assert len(frame) == len(load_observations())
    assert frame["source"].notna().all() and frame["confidence"].notna().all()


GOOD = """
[sources.a]
short = "Someone 2001"
citation = "Someone, Something, 2001"

[[observation]]
id = "x"
event = "e"
quantity = "q"
value = 1
unit = "hosts"
relation = "about"
confidence = "firm"
source = "a"
"""


@pytest.mark.parametrize(
    "change, message",
    [
        (('value = 1', 'valeu = 1'), "unknown key 'valeu'"),
        (('confidence = "firm"', 'confidence = "sure"'), "confidence must be one of"),
        (('source = "a"', 'source = "b"'), "'b' is not defined"),
        (('relation = "about"\n', ''), "missing key 'relation'"),
    ],
)
def test_a_misspelt_record_fails_loudly(tmp_path, change, message):
    path = tmp_path / "obs.toml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(InputError, match=message):
        load_observations(path)


def test_a_good_file_loads(tmp_path):
    path = tmp_path / "obs.toml"
    path.write_text(GOOD)
    (obs,) = load_observations(path)
    assert obs.citation == "Someone, Something, 2001"
