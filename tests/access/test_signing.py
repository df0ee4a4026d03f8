"""Per-station signatures (pure): a record verifies only with its own station's key."""

from __future__ import annotations

import pytest

from gaitstream.access.signing import (
    MAX_CACHED_KEYS,
    SIGNATURE_HEADER,
    SignatureError,
    SignatureVerifier,
    sign,
    station_key,
)

SECRET = bytes(range(32))


def _headers(station: str, record_key: bytes, value: bytes) -> list[tuple[str, bytes]]:
    return [(SIGNATURE_HEADER, sign(station_key(SECRET, station), record_key, value))]


def test_a_record_signed_by_its_station_verifies() -> None:
    verifier = SignatureVerifier(SECRET)
    verifier.verify(b"st-1", b"frame", _headers("st-1", b"st-1", b"frame"))
    verifier.verify(b"st-1", b"frame", dict(_headers("st-1", b"st-1", b"frame")))  # Faust may give a mapping


@pytest.mark.parametrize(
    ("record_key", "value", "headers", "reason"),
    [
        (b"st-1", b"frame", [], "signature: missing (unsigned record)"),
        (b"st-1", b"frame", [(SIGNATURE_HEADER, b"short")], "signature: 5 bytes, expected 32"),
        (b"st-1", b"frame", _headers("st-2", b"st-1", b"frame"), "signature: does not match the station's key"),
        (b"st-1", b"frame!", _headers("st-1", b"st-1", b"frame"), "signature: does not match the station's key"),
        (b"st-2", b"frame", _headers("st-1", b"st-1", b"frame"), "signature: does not match the station's key"),
        (None, b"frame", _headers("st-1", b"", b"frame"), "signature: the record has no key (station id)"),
    ],
    ids=["unsigned", "truncated", "another-station", "value-changed", "key-changed", "no-key"],
)
def test_forged_or_unsigned_records_are_refused_with_the_reason(record_key, value, headers, reason) -> None:
    with pytest.raises(SignatureError) as caught:
        SignatureVerifier(SECRET).verify(record_key, value, headers)
    assert caught.value.reason == reason


def test_keys_differ_per_station_and_per_secret() -> None:
    keys = {station_key(SECRET, f"st-{i}") for i in range(100)}
    assert len(keys) == 100
    assert station_key(SECRET, "st-1") != station_key(bytes(32), "st-1")
    # The key's length is framed: "ab" + "c" and "a" + "bc" do not sign the same bytes.
    key = station_key(SECRET, "x")
    assert sign(key, b"ab", b"c") != sign(key, b"a", b"bc")


def test_a_short_secret_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        SignatureVerifier(b"too short")


def test_the_key_cache_stays_bounded() -> None:
    verifier = SignatureVerifier(SECRET)
    for i in range(MAX_CACHED_KEYS + 5):
        key = f"st-{i}".encode()
        verifier.verify(key, b"v", _headers(key.decode(), key, b"v"))
    assert len(verifier._keys) <= MAX_CACHED_KEYS


def test_a_real_station_signs_with_its_own_key_for_itself_only(monkeypatch) -> None:
    from gaitstream.exceptions import SigningSettingsError
    from gaitstream.services.station.publisher import StationSettings, StationSigner

    monkeypatch.delenv("GAITSTREAM_STATION_SIGNING_SECRET", raising=False)
    own = station_key(SECRET, "tm-01")
    signer = StationSigner(StationSettings(signing_key=own.hex()))
    SignatureVerifier(SECRET).verify(b"tm-01", b"v", [(SIGNATURE_HEADER, sign(signer.key("tm-01"), b"tm-01", b"v"))])
    with pytest.raises(SigningSettingsError, match="second one"):
        signer.key("tm-02")
    with pytest.raises(SigningSettingsError, match="not set"):
        StationSigner(StationSettings())  # neither its key nor a fleet's secret
