"""Settings of the feedback screen service (``GAITSTREAM_FEEDBACK_*``), read when a command starts."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class FeedbackSettings(BaseSettings):
    """``secret`` signs the screens' station-scoped tokens (64 hex digits or more, no default;
    ``GAITSTREAM_FEEDBACK_SECRET_FILE`` in compose). ``public_url`` is where the treadmill screens
    reach the service (``gaitstream feedback url`` prints it with the token)."""

    model_config = SettingsConfigDict(env_prefix="GAITSTREAM_FEEDBACK_", extra="ignore")

    secret: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = 8090
    public_url: str = "http://127.0.0.1:8090"
    # A screen's URL stays valid this long (a TV in front of a treadmill keeps its bookmark);
    # changing the secret revokes every screen at once.
    token_ttl_s: float = Field(90 * 24 * 3600.0, gt=0)
    # At start, the steps topic is read back this far for the sessions already open.
    lookback_s: float = Field(4 * 3600.0, gt=0)
    # A page that falls this many messages behind loses its oldest live samples.
    queue_messages: int = Field(400, ge=10)
    # Longest time the broker holds the feed's fetch. aiokafka keeps one fetch in flight per broker
    # for the partitions with nothing buffered; with its default (0.5 s) a fetch holding only idle
    # partitions made a busy station's next trace wait behind it (service + browser p99 0.12 s at
    # 4 stations in benchmarks/feedback_latency.py). Idle partitions cost an empty answer this often:
    # at 0.01 s the service spent 0.10 of a core (and the broker about 0.04) on them with 4 stations
    # or 50; at 0.05 s 0.04-0.05 (4 stations) and 0.08-0.09 (50), with the same service + browser
    # latency (p99 0.038-0.043 s at 4 stations, 0.065-0.084 s at 50).
    fetch_max_wait_s: float = Field(0.05, gt=0, le=0.5)

    def secret_bytes(self) -> bytes:
        from gaitstream.exceptions import GaitstreamError

        if self.secret is None or not self.secret.get_secret_value():
            raise GaitstreamError("GAITSTREAM_FEEDBACK_SECRET (or ..._FILE) is not set: screens cannot be opened")
        try:
            secret = bytes.fromhex(self.secret.get_secret_value().strip())
        except ValueError as exc:
            raise GaitstreamError("GAITSTREAM_FEEDBACK_SECRET must be hex (64 digits or more)") from exc
        if len(secret) < 32:
            raise GaitstreamError("GAITSTREAM_FEEDBACK_SECRET must be at least 32 bytes (64 hex digits)")
        return secret
