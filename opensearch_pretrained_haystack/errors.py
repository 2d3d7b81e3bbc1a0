"""The exceptions this package raises: one base class, so callers can catch everything of ours at once."""


class OpenSearchPretrainedError(Exception):
    """Base class of every error this package raises on purpose."""


class UnknownModelError(OpenSearchPretrainedError, LookupError):
    """A model name or version that the catalog does not know."""


class ArtifactError(OpenSearchPretrainedError):
    """A model artifact could not be fetched, verified or opened."""


class ArtifactDownloadError(ArtifactError):
    """The artifact or its config.json could not be read from the source (network, mirror, permissions)."""


class ArtifactIntegrityError(ArtifactError):
    """The downloaded bytes do not match the size or SHA-256 that config.json promises."""


class ArtifactFormatError(ArtifactError):
    """The artifact is not a model zip that ML Commons could serve (not a zip, unsafe entries, missing files)."""


class ModelInputError(OpenSearchPretrainedError, ValueError):
    """An ONNX graph whose inputs differ from what ML Commons would feed it."""


class MissingExtraError(OpenSearchPretrainedError, ImportError):
    """An optional dependency (an extra of this package) is not installed."""
