"""Root exception of gaitstream; subpackages derive their own from it."""


class GaitstreamError(Exception):
    """Base class of every error gaitstream raises on purpose."""


class KafkaSettingsError(GaitstreamError):
    """A Kafka client cannot be built: a credential or the CA file is missing."""


class SigningSettingsError(GaitstreamError):
    """The station-signing secret or a station's key is missing or malformed."""
