"""One id rule for clinics and pseudonyms: what the clinic API takes, export and erasure take too."""

from __future__ import annotations

import re

import pytest

from gaitstream.ids import ID_PATTERN, check_id
from gaitstream.services.alerts.store.accounts import ID_PATTERN as API_PATTERN
from gaitstream.services.privacy.settings import check_clinic, check_pseudonym

GOOD = ["p-0042", "a", "clinic.a", "p:17", "P_9-x.y:z", "9" * 100]
BAD = ["", "-p", ".p", "a/b", 'a"b', "a b", "a\nb", "é", "9" * 101, "p'1"]


@pytest.mark.parametrize("value", GOOD)
def test_what_the_api_takes_can_be_exported_and_erased(value):
    assert re.match(API_PATTERN, value)
    assert check_pseudonym(value) == value == check_clinic(value)


@pytest.mark.parametrize("value", BAD)
def test_what_could_break_a_key_or_a_query_is_refused_with_the_rule(value):
    assert not re.fullmatch(ID_PATTERN, value)
    with pytest.raises(ValueError, match="pseudonym .* must be 1-100 letters"):
        check_pseudonym(value)
    with pytest.raises(ValueError, match="clinic"):
        check_id("clinic", value)
