"""
The exceptions this package raises: one tree under one base class, so callers catch everything of ours at once.

Each class lives beside the code that raises it; this is the whole tree (``tests/test_error_tree.py`` checks that it
matches the classes), with the exit code the command line gives for it::

    OpenSearchPretrainedError                  (exit 1)  errors.py
    ├── UsageError(ValueError)                 (exit 2)  errors.py: what the user asked for cannot be done as asked
    │   ├── ModelInputError                              errors.py: a model whose inputs ML Commons would not feed
    │   ├── IndexMismatchError                           compatibility.py: an index/store of another model
    │   ├── MissingIndexError                            indices/knn.py: the index to read does not exist
    │   └── BeirFormatError                              app/evaluation.py: a BEIR file not in BEIR's format
    ├── UnknownModelError(LookupError)                   errors.py
    ├── ArtifactError                                    errors.py
    │   ├── ArtifactDownloadError
    │   ├── ArtifactIntegrityError
    │   └── ArtifactFormatError
    ├── MLCommonsError(RuntimeError)                     cluster/errors.py: a cluster call failed
    │   ├── UnsupportedServerError
    │   ├── ResourceNotFoundError
    │   │   └── ModelNotFoundError
    │   ├── ModelNotDeployedError
    │   ├── RequestRejectedError
    │   │   └── SettingRequiredError
    │   ├── ThrottledError
    │   ├── CircuitBreakerError
    │   ├── TransientServerError
    │   ├── ClusterConnectionError
    │   ├── MalformedResponseError
    │   ├── CertificateError
    │   ├── TaskFailedError
    │   ├── DeployFailedError
    │   └── OperationTimeoutError(TimeoutError)
    ├── SQLiteStoreError(DocumentStoreError)             document_stores/opensearch_pretrained/document_store.py
    ├── VectorFileError(DocumentStoreError)              document_stores/opensearch_pretrained/vector_file.py
    ├── SparseWriteError                                 indices/sparse.py: documents the sparse index refused
    ├── PassagesNotWrittenError                          app/batch/targets.py: a write failed after its retries
    ├── ParityError(ValueError)                          parity.py: two embedders that cannot be compared
    ├── MissingExtraError(ImportError)                   errors.py: an extra is not installed (torch, ray)
    ├── RayUnreachableError                              app/batch/ray_options.py: no Ray at --ray-address
    └── NodeError                                        node/errors.py: the local test node
        └── PrerequisiteError

Exit codes of ``opensearch-pretrained`` (listed in its ``--help`` and the README), chosen so a script can tell
"fix the command" from "try again" from "some documents failed":

- 0: done; every document written (or the search answered, the parity check passed).
- 1: the run failed or was incomplete: a runtime error (cluster, network, artifact, file system, store file), some
  documents failed (the summary names them), or ``verify-parity`` found a difference.
- 2: the command cannot be done as asked, and nothing was changed: bad options or a bad combination of them
  (argparse's own errors too), an index or store of another model, a missing index to search, a model whose
  inputs ML Commons would not feed, a BEIR file not in BEIR's format.
- 130: interrupted (Ctrl-C); what was written stays, and a new run skips it.
"""

from typing import ClassVar

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "exit codes: 0 done; 1 failed or incomplete (cluster, network, artifact, file, some documents failed, parity "
    "differs); 2 cannot be done as asked, nothing changed (bad options, an index or store of another model, a "
    "missing index, a model ML Commons cannot feed, a malformed BEIR file); 130 interrupted."
)
"""The exit codes as the command line's ``--help`` epilog shows them."""


class OpenSearchPretrainedError(Exception):
    """Base class of every error this package raises on purpose."""

    exit_code: ClassVar[int] = EXIT_FAILED
    """What ``opensearch-pretrained`` exits with when this error ends a command."""


class UsageError(OpenSearchPretrainedError, ValueError):
    """What the user asked for cannot be done as asked; nothing was changed."""

    exit_code: ClassVar[int] = EXIT_USAGE


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


class ModelInputError(UsageError):
    """An ONNX graph whose inputs differ from what ML Commons would feed it."""


class MissingExtraError(OpenSearchPretrainedError, ImportError):
    """An optional dependency (an extra of this package) is not installed."""
