"""
ONNX Runtime sessions of an artifact, checked against the inputs ML Commons feeds its family's graphs.

Which inputs ML Commons sends is the model family's rule (``families``: by model_type for embedders, always three
for cross-encoders). DJL requires the graph's inputs to equal what is sent, so a graph that disagrees cannot be
served by a cluster: the local runners refuse it through ``shared_session``, and the uploader through
``check_onnx_inputs`` — the same session, the same rule, the same message.
"""

from __future__ import annotations

from collections.abc import Sequence

import onnxruntime as ort

from opensearch_pretrained_haystack.artifacts import Lease, ModelArtifact, loaded_artifacts
from opensearch_pretrained_haystack.errors import ArtifactFormatError
from opensearch_pretrained_haystack.families import family_of

DEFAULT_PROVIDERS = ("CPUExecutionProvider",)


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
    """
    The process's one session of this artifact (per providers), its inputs checked by the artifact's family's rule.

    Release the lease when done.
    """
    chosen = tuple(providers or DEFAULT_PROVIDERS)
    lease = loaded_artifacts.acquire("onnx-session", artifact, lambda a: load_session(a, chosen), chosen)
    try:
        family_of(artifact.task_type).check_graph_inputs(artifact, [i.name for i in lease.value.get_inputs()])
    except BaseException:
        lease.release()
        raise
    return lease


def check_onnx_inputs(artifact: ModelArtifact) -> None:
    """Refuse an ONNX artifact a cluster could not serve: the graph's inputs must be what ML Commons sends."""
    shared_session(artifact).release()
