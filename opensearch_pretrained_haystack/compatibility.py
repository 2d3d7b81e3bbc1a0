"""
The one check that a model fits where its vectors go: an index, a store file, or a deployed cluster model.

Every place that compares a model with something that already holds (or makes) vectors goes through here, so a
mismatch is always refused before anything is written, with the same message naming both sides and the way out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.errors import UsageError

logger = logging.getLogger(__name__)

# k-NN's default when a mapping names no space type.
DEFAULT_SPACE_TYPE = "l2"
# The key of the model record in an OpenSearch index mapping's ``_meta``.
META_KEY = "opensearch_pretrained_model"


class IndexMismatchError(UsageError):
    """
    An index, store or cluster model holds (or makes) vectors of another model: another size, space, name or version.
    """


@dataclass(frozen=True)
class ModelIdentity:
    """
    Which model made a set of vectors: the small record an index or store keeps beside them.

    Two identities are the same model when every field is equal. The model's format is not part of it: the ONNX
    and TORCH_SCRIPT artifacts of one catalog version make the same vectors (proven by the parity tests). A custom
    model (not from the catalog) is told apart by ``artifact_sha256``, the SHA-256 of its zip. Another *version*
    of the same catalog model is another model: versions are rebuilt artifacts whose truncation can differ
    (msmarco-distilbert-base-tas-b 1.0.1 truncates nothing, 1.0.2 at 512 tokens), and the catalog cannot prove
    two versions' vectors equal, so their vectors never share an index or store.
    """

    name: str
    version: str
    dimension: int
    space_type: str
    pooling_mode: str = ""
    normalize: bool = False
    max_tokens: int = 0
    artifact_sha256: str = ""
    """Only for a custom model: the SHA-256 of its zip (empty for catalog models, whose versions are enough)."""

    @classmethod
    def of(cls, model: PretrainedModel, space_type: str | None = None) -> ModelIdentity:
        """The identity of a catalog model's vectors in ``space_type`` (default: the model's own)."""
        return cls(
            name=model.name, version=model.version, dimension=model.dimension,
            space_type=space_type or model.space_type or DEFAULT_SPACE_TYPE, pooling_mode=model.pooling_mode,
            normalize=model.normalize, max_tokens=model.max_tokens,
        )  # fmt: skip

    def label(self) -> str:
        """How a message names the model: catalog name and version (and the zip's hash for a custom model)."""
        suffix = f" (artifact sha256 {self.artifact_sha256[:12]})" if self.artifact_sha256 else ""
        return f"{self.name} {self.version}{suffix}"

    def to_meta(self) -> dict[str, Any]:
        """The record written into an index mapping's ``_meta`` (under ``META_KEY``)."""
        return asdict(self)

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any] | None) -> ModelIdentity | None:
        """
        The identity recorded in a mapping's ``_meta``.

        None when there is none (an index made before records, or by another tool). Unknown keys are ignored, so a newer
        record still reads.
        """
        record = (meta or {}).get(META_KEY)
        if not isinstance(record, Mapping) or "name" not in record or "version" not in record:
            return None
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in record.items() if key in known})


def require_same_model(target: str, recorded: ModelIdentity | None, wanted: ModelIdentity) -> None:
    """
    Raise ``IndexMismatchError`` naming both models if ``target`` holds vectors of another model than ``wanted``.

    Another model is another name, version, artifact, or anything that shapes the vectors. With no record (``recorded``
    None), accept with a one-line warning, since the vectors' model cannot be checked.
    """
    if recorded is None:
        logger.warning(
            "%s records no model (made before model records were kept, or by another tool): its vectors cannot be "
            "checked against %s.", target, wanted.label(),
        )  # fmt: skip
        return
    if recorded != wanted:
        differing = [
            f"{field.name} {getattr(recorded, field.name)!r} vs {getattr(wanted, field.name)!r}"
            for field in fields(ModelIdentity)
            if getattr(recorded, field.name) != getattr(wanted, field.name)
        ]
        raise IndexMismatchError(
            f"{target} holds vectors of {recorded.label()}, not {wanted.label()} ({'; '.join(differing)}): two "
            "models' vectors never share an index or store. Nothing was written. Use the model it was built with, "
            "or a new index name (or store file) for this one."
        )


def require_same_space(target: str, found: tuple[int, str], model: PretrainedModel, space_type: str) -> None:
    """Raise ``IndexMismatchError`` naming both (dimension, space type) pairs and the way out, if they differ."""
    expected = (model.dimension, space_type)
    if found != expected:
        raise IndexMismatchError(
            f"{target} holds {found[0]}-dimensional vectors in space {found[1]!r}, but {model.name} {model.version} "
            f"produces {expected[0]}-dimensional vectors in space {expected[1]!r}. Nothing was written. Use a new "
            "index name (or store file) for this model, or re-index: delete the old one and index the documents "
            "again with this model."
        )


def index_vector_space(vector_mapping: dict[str, Any]) -> tuple[int, str]:
    """
    (dimension, space type) of a ``knn_vector`` mapping.

    The space type may sit in ``method`` or, from OpenSearch 2.17 on, at the top level, and is k-NN's ``l2`` when
    absent.
    """
    space = (vector_mapping.get("method") or {}).get("space_type") or vector_mapping.get("space_type")
    return int(vector_mapping["dimension"]), space or DEFAULT_SPACE_TYPE


def require_cluster_model_fits(
    model_id: str, deployed: dict[str, Any], dimension: int, *, way_out: str, name: str | None = None
) -> None:
    """
    Raise ``IndexMismatchError`` if the deployed ML Commons model is not the one wanted.

    That is when ``deployed`` (its model document) makes vectors of another size than ``dimension`` or, with ``name``,
    is another model than ``name``; ``way_out`` says what to do in the caller's terms. ML Commons keeps the registered
    name but not the catalog version (its ``model_version`` counts registrations in a model group), so the name is what
    can be compared.
    """
    produced = (deployed.get("model_config") or {}).get("embedding_dimension")
    if produced is not None and int(produced) != dimension:
        raise IndexMismatchError(
            f"ML Commons model {model_id} ({deployed.get('name')}) produces {produced}-dimensional vectors, but "
            f"the index holds {dimension}-dimensional ones. {way_out}"
        )
    if name is not None and deployed.get("name") != name:
        raise IndexMismatchError(
            f"ML Commons model {model_id} is {deployed.get('name')}, not {name}: two models' vectors never share an "
            f"index. Nothing was written. {way_out}"
        )
