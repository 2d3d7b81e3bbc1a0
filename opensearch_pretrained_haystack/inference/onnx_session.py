"""ONNX Runtime sessions of an artifact, and the one rule for the inputs ML Commons feeds an ONNX graph.

The rule (TextEmbeddingDenseModel / the ONNX translator): ``input_ids`` and ``attention_mask``, plus
``token_type_ids`` only for model_type bert or albert. DJL requires the graph's inputs to equal what is sent,
so a graph that disagrees cannot be served by a cluster: the local embedder refuses it, and so does the uploader.
"""

from __future__ import annotations

from collections.abc import Sequence

import onnxruntime as ort

from opensearch_pretrained_haystack.artifacts import Lease, ModelArtifact, loaded_artifacts
from opensearch_pretrained_haystack.errors import ArtifactFormatError, ModelInputError

_TYPES_WITH_TOKEN_TYPE_IDS = frozenset({"bert", "albert"})
DEFAULT_PROVIDERS = ("CPUExecutionProvider",)


def ml_commons_inputs(model_type: str) -> tuple[str, ...]:
    """The inputs ML Commons sends an ONNX text-embedding graph of this ``model_type``."""
    base = ("input_ids", "attention_mask")
    return (*base, "token_type_ids") if model_type.lower() in _TYPES_WITH_TOKEN_TYPE_IDS else base


def check_graph_inputs(artifact: ModelArtifact, graph_inputs: Sequence[str]) -> tuple[str, ...]:
    """The inputs to feed; a graph whose inputs differ from what ML Commons sends is refused with what to do."""
    expected = ml_commons_inputs(artifact.model_type)
    if set(graph_inputs) != set(expected):
        raise ModelInputError(
            f"{artifact.name}: the ONNX graph takes {sorted(graph_inputs)}, but ML Commons sends {list(expected)} for "
            f"model_type {artifact.model_type!r}, so a cluster could not serve this artifact (DJL input mismatch). "
            "Re-export the model with the inputs its tokenizer produces, or fix model_type in config.json."
        )
    return expected


def load_session(artifact: ModelArtifact, providers: tuple[str, ...]) -> ort.InferenceSession:
    """A session for one single-threaded run at a time per caller thread; callers run several in parallel."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    model_file = artifact.extract().model_file
    try:
        return ort.InferenceSession(str(model_file), options, providers=list(providers))
    except Exception as error:  # onnxruntime raises plain Exception subclasses (InvalidProtobuf, Fail, ...)
        raise ArtifactFormatError(
            f"{artifact.zip_path}: ONNX Runtime cannot load {model_file.name} ({error})."
        ) from error


def shared_session(artifact: ModelArtifact, providers: Sequence[str] | None = None) -> Lease[ort.InferenceSession]:
    """The process's one session of this artifact (per providers), its inputs checked; release the lease when done."""
    chosen = tuple(providers or DEFAULT_PROVIDERS)
    lease = loaded_artifacts.acquire("onnx-session", artifact, lambda a: load_session(a, chosen), chosen)
    try:
        check_graph_inputs(artifact, [i.name for i in lease.value.get_inputs()])
    except BaseException:
        lease.release()
        raise
    return lease


def check_onnx_inputs(artifact: ModelArtifact) -> None:
    """Refuse an ONNX artifact a cluster could not serve: the graph's inputs must be what ML Commons sends."""
    shared_session(artifact).release()
