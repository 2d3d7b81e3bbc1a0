"""
``Family``: the rules of one model family (one ML Commons function), held in one place.

Every part of the package that used to test a task-type string asks the family instead: which artifacts and
ONNX inputs it accepts (one rule for the local loader and the pre-upload check), how it loads locally, its
predict call, its index builder, and how the catalog and the command line present it. The families themselves
are one module each beside this one; ``family_of`` finds one by ML Commons' function name.

Code a family names (its runner, predict call, index builder) is given as ``"module:attribute"`` and imported on
first use, so reading a family's rules never loads onnxruntime or opensearch-py.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opensearch_pretrained_haystack.errors import ModelInputError

if TYPE_CHECKING:  # the catalog and the artifacts read families: no import back at run time
    from opensearch_pretrained_haystack.artifacts.artifact import ModelArtifact

TOKEN_TYPES_SENT_FOR = frozenset({"bert", "albert"})
"""Model types for which ML Commons' text-embedding translator also sends ``token_type_ids``."""


def inputs_by_model_type(model_type: str) -> tuple[str, ...]:
    """
    ML Commons' text-embedding rule (``TextEmbeddingDenseModel``).

    ``input_ids`` and ``attention_mask``, plus ``token_type_ids`` for model_type bert or albert.
    """
    base = ("input_ids", "attention_mask")
    return (*base, "token_type_ids") if model_type.lower() in TOKEN_TYPES_SENT_FOR else base


@dataclass(frozen=True)
class Family:
    """One model family: what ML Commons calls it, what it accepts, and where its code lives."""

    task_type: str
    """ML Commons' function name (``config.json``'s ``model_task_type`` / ``function_name``)."""
    label: str
    """How the command line and the catalog name the family ("embedder", "reranker", ...)."""
    onnx_inputs: Callable[[str], tuple[str, ...]] | None
    """The graph inputs ML Commons sends an ONNX model of this family, by ``model_type``; None: no ONNX graph."""
    catalog_role: str | None = None
    """The role the catalog table shows for every model of the family; None: each catalog entry's own role."""
    needs_model_file: bool = True
    """Whether the artifact zip holds a model file (a query tokenizer's holds only tokenizer.json and idf.json)."""
    pools: bool = False
    """Whether the model pools and normalizes a dense vector (the catalog's pooling/normalize/space columns)."""
    local_runner: str | None = None
    """``"module:Class"`` computing the family's output on this machine exactly as the cluster does."""
    predict_call: str | None = None
    """``"module:attribute"``: the request/response codec of the family's ``_predict`` call."""
    index_builder: str | None = None
    """``"module:function"``: the index (and ingest/search pipeline) builder for the family's outputs."""
    mismatch_hint: str = "Re-export the model with the inputs its tokenizer produces, or fix model_type in config.json."
    """What to do when a graph's inputs are not what ML Commons sends."""

    def expected_inputs(self, artifact: ModelArtifact) -> tuple[str, ...]:
        """The inputs ML Commons sends this artifact's ONNX graph."""
        if self.onnx_inputs is None:
            raise ModelInputError(f"{artifact.name}: a {self.task_type} model has no ONNX graph to feed.")
        return self.onnx_inputs(artifact.model_type)

    def check_graph_inputs(self, artifact: ModelArtifact, graph_inputs: Sequence[str]) -> tuple[str, ...]:
        """
        The inputs to feed.

        A graph whose inputs differ from what ML Commons sends is refused with what to do (DJL requires them to be
        equal, so a cluster could not serve it).
        """
        expected = self.expected_inputs(artifact)
        if set(graph_inputs) != set(expected):
            raise ModelInputError(
                f"{artifact.name}: the ONNX graph takes {sorted(graph_inputs)}, but ML Commons sends {list(expected)} "
                f"to a {self.task_type} model of model_type {artifact.model_type!r}, so a cluster could not serve "
                f"this artifact (DJL input mismatch). {self.mismatch_hint}"
            )
        return expected

    def load(self, reference: str) -> Any:
        """The object a ``"module:attribute"`` field names, imported now."""
        module, _, attribute = reference.partition(":")
        return getattr(importlib.import_module(module), attribute)


def family_of(task_type: str) -> Family:
    """The family of an ML Commons function name; ``ModelInputError`` names the known ones otherwise."""
    from opensearch_pretrained_haystack.families import FAMILIES

    for family in FAMILIES:
        if family.task_type == task_type.upper():
            return family
    known = ", ".join(family.task_type for family in FAMILIES)
    raise ModelInputError(f"No model family for the function {task_type!r}: this package knows {known}.")
