"""Kafka security settings and secrets as files (pure: no broker)."""

from __future__ import annotations

import pytest

from gaitstream.exceptions import GaitstreamError, KafkaSettingsError, SigningSettingsError
from gaitstream.settings import KafkaSettings, SigningSettings, load_secret_files


def test_every_client_gets_sasl_ssl_and_the_missing_secret_is_named(tmp_path, monkeypatch) -> None:
    for name in ("USERNAME", "PASSWORD", "PASSWORD_FILE", "CA_FILE", "SECURITY_PROTOCOL"):
        monkeypatch.delenv(f"GAITSTREAM_KAFKA_{name}", raising=False)
    with pytest.raises(KafkaSettingsError, match="GAITSTREAM_KAFKA_USERNAME"):
        KafkaSettings().client_config()
    with pytest.raises(KafkaSettingsError, match="GAITSTREAM_KAFKA_PASSWORD or GAITSTREAM_KAFKA_PASSWORD_FILE"):
        KafkaSettings(username="u").client_config()
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    config = KafkaSettings(username="u", password_file=secret).client_config()
    assert (config["security_protocol"], config["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert (config["sasl_plain_username"], config["sasl_plain_password"]) == ("u", "s3cret")
    assert config["ssl_context"].check_hostname
    with pytest.raises(KafkaSettingsError, match="does not exist"):
        KafkaSettings(username="u", password="p", ca_file=tmp_path / "nope.crt").client_config()


def test_plaintext_is_only_the_benchmark_baseline() -> None:
    assert KafkaSettings(security_protocol="PLAINTEXT").security() == {"security_protocol": "PLAINTEXT"}
    with pytest.raises(ValueError):
        KafkaSettings(security_protocol="SSL")


def test_the_signing_secret_is_long_hex(tmp_path) -> None:
    with pytest.raises(SigningSettingsError, match="not set"):
        SigningSettings(signing_secret=None, signing_secret_file=None).secret()
    with pytest.raises(SigningSettingsError, match="hexadecimal"):
        SigningSettings(signing_secret="zz" * 32).secret()
    with pytest.raises(SigningSettingsError, match="at least 32 bytes"):
        SigningSettings(signing_secret="ab" * 16).secret()
    path = tmp_path / "secret"
    path.write_text("ab" * 32 + "\n")
    assert SigningSettings(signing_secret=None, signing_secret_file=path).secret() == bytes.fromhex("ab" * 32)


def test_secret_files_fill_unset_variables_only(tmp_path) -> None:
    token = tmp_path / "token"
    token.write_text("from-file\n")
    environ = {
        "GAITSTREAM_INFLUX_TOKEN_FILE": str(token),
        "GAITSTREAM_KAFKA_PASSWORD_FILE": str(token),
        "GAITSTREAM_KAFKA_PASSWORD": "given",
        "OTHER_FILE": str(token),
    }
    assert load_secret_files(environ) == ["GAITSTREAM_INFLUX_TOKEN"]
    assert environ["GAITSTREAM_INFLUX_TOKEN"] == "from-file"
    assert environ["GAITSTREAM_KAFKA_PASSWORD"] == "given"
    assert "OTHER" not in environ
    with pytest.raises(GaitstreamError, match="GAITSTREAM_X_FILE"):
        load_secret_files({"GAITSTREAM_X_FILE": str(tmp_path / "missing")})
