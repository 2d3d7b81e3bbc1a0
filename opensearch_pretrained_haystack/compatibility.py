"""The one check that a model fits where its vectors go: an index, a store file, or a deployed cluster model.

Every place that compares a model with something that already holds (or makes) vectors goes through here, so a
mismatch is always refused before anything is written, with the same message naming both sides and the way out.
"""

from __future__ import annotations

from typing import Any

from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.errors import UsageError

# k-NN's default when a mapping names no space type.
DEFAULT_SPACE_TYPE = "l2"


class IndexMismatchError(UsageError):
    """An index, store or cluster model holds (or makes) vectors of another size or space than the model."""


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
    """(dimension, space type) of a ``knn_vector`` mapping; the space type may sit in ``method`` or, from
    OpenSearch 2.17 on, at the top level, and is k-NN's ``l2`` when absent."""
    space = (vector_mapping.get("method") or {}).get("space_type") or vector_mapping.get("space_type")
    return int(vector_mapping["dimension"]), space or DEFAULT_SPACE_TYPE


def require_cluster_model_fits(model_id: str, deployed: dict[str, Any], dimension: int, *, way_out: str) -> None:
    """Raise ``IndexMismatchError`` if the deployed ML Commons model ``deployed`` (its model document) makes vectors
    of another size than ``dimension``; ``way_out`` says what to do in the caller's terms."""
    produced = (deployed.get("model_config") or {}).get("embedding_dimension")
    if produced is not None and int(produced) != dimension:
        raise IndexMismatchError(
            f"ML Commons model {model_id} ({deployed.get('name')}) produces {produced}-dimensional vectors, but "
            f"the index holds {dimension}-dimensional ones. {way_out}"
        )
