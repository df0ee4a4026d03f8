"""Root exception of gaitstream; subpackages derive their own from it."""


class GaitstreamError(Exception):
    """Base class of every error gaitstream raises on purpose."""
