"""Token lifetimes from the command line (`rekap token issue --ttl`)."""

from datetime import timedelta

import pytest

from shared.auth import parse_ttl


@pytest.mark.parametrize("text, expected", [("3d", timedelta(days=3)), ("12h", timedelta(hours=12)),
                                            ("30m", timedelta(minutes=30)), ("45s", timedelta(seconds=45))])
def test_ttl_units(text, expected):
    assert parse_ttl(text) == expected


@pytest.mark.parametrize("text", ["", "h", "3", "3w", "-3d", "1.5h", "³h", "٣d"])
def test_ttl_refuses_what_is_not_a_whole_ascii_number_and_unit(text):
    with pytest.raises(ValueError):
        parse_ttl(text)
