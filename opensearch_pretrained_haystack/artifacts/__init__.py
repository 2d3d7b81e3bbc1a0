"""
Model artifacts: fetch, verify, unpack, resolve, and share what is loaded.

Fetch or open (``fetch``), verify (``verify``), unpack safely (``unpack``), resolve what a user names to one verified
artifact (``resolve``), and share what is loaded from it (``loaded``).
"""

from opensearch_pretrained_haystack.artifacts.artifact import ModelArtifact
from opensearch_pretrained_haystack.artifacts.fetch import (
    CACHE_ENV,
    MIRROR_ENV,
    artifacts_base_url,
    default_cache_dir,
    fetch_artifact,
    load_artifact,
    load_model_dir,
)
from opensearch_pretrained_haystack.artifacts.loaded import Lease, LoadedArtifacts, loaded_artifacts
from opensearch_pretrained_haystack.artifacts.resolve import ModelSource, resolve_artifact
from opensearch_pretrained_haystack.artifacts.unpack import (
    MAX_UNPACKED_BYTES,
    MODEL_SUFFIXES,
    TOKENIZER_FILE,
    ExtractedModel,
    check_zip,
    check_zip_entries,
)

__all__ = [
    "CACHE_ENV",
    "MAX_UNPACKED_BYTES",
    "MIRROR_ENV",
    "MODEL_SUFFIXES",
    "TOKENIZER_FILE",
    "ExtractedModel",
    "Lease",
    "LoadedArtifacts",
    "ModelArtifact",
    "ModelSource",
    "artifacts_base_url",
    "check_zip",
    "check_zip_entries",
    "default_cache_dir",
    "fetch_artifact",
    "load_artifact",
    "load_model_dir",
    "loaded_artifacts",
    "resolve_artifact",
]
