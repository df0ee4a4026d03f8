"""Station-scoped screen tokens (pure)."""

from __future__ import annotations

import pytest

from gaitstream.services.feedback.tokens import TokenError, check_token, make_token

SECRET = bytes(range(32))


def test_a_token_opens_its_station_until_it_expires() -> None:
    token = make_token(SECRET, "tm-01", expires_s=1000)
    check_token(SECRET, token, station_id="tm-01", now_s=999)
    with pytest.raises(TokenError, match="expired"):
        check_token(SECRET, token, station_id="tm-01", now_s=1000)


@pytest.mark.parametrize(
    ("token", "says"),
    [
        (make_token(SECRET, "tm-02", expires_s=1000), "another station"),
        (make_token(b"another deployment's secret", "tm-01", expires_s=1000), "not issued"),
        (make_token(SECRET, "tm-01", expires_s=1000)[:-3] + "AAA", "not issued"),
        ("no-dot", "malformed"),
        ("%%%.%%%", "malformed"),
        ("", "malformed"),
    ],
)
def test_other_stations_forged_and_malformed_tokens_are_refused(token: str, says: str) -> None:
    with pytest.raises(TokenError, match=says):
        check_token(SECRET, token, station_id="tm-01", now_s=10)


def test_a_token_cannot_be_stretched_to_a_later_expiry() -> None:
    token = make_token(SECRET, "tm-01", expires_s=1000)
    body, mac = token.split(".")
    longer = make_token(SECRET, "tm-01", expires_s=10**12).split(".")[0]
    with pytest.raises(TokenError, match="not issued"):
        check_token(SECRET, f"{longer}.{mac}", station_id="tm-01", now_s=2000)
