"""
`LocalBackend`: what a component that runs a model on this machine holds, beside its own parameters.

A component keeps its `__init__` parameters as attributes (they serialize) and one `LocalBackend`, which loads the
family's runner at `warm_up` (idempotent), sharing the tokenizer and the model through the process's cache of loaded
artifacts, and gives this component's share back at `close` (the next `run` warms up again). The functions below
are the runs the local embedders share, whatever runtime runs the artifact (ONNX or TorchScript).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, Union

from haystack.dataclasses import SparseEmbedding
from tqdm import tqdm

from opensearch_pretrained_haystack.artifacts import resolve_artifact
from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.inference.sparse_tokenizer import (
    SparseTokenizer,
    resolve_sparse_artifact,
    shared_sparse_tokenizer,
)
from opensearch_pretrained_haystack.inference.text_embedding import TextEmbeddingRunner
from opensearch_pretrained_haystack.text_preparation import PreparedDocuments, prepare_text

if TYPE_CHECKING:  # the encoder imports the TorchScript runtime: only loaded for an encoder artifact
    from opensearch_pretrained_haystack.inference.sparse_encoder import LocalSparseEncoder

R = TypeVar("R")
"""The family's runner."""
Loaded = tuple[R, Callable[[], object]]
"""A loaded runner and how to give it back (close it, or release its lease)."""
SparseEngine = Union[SparseTokenizer, "LocalSparseEncoder"]
"""A local sparse model: a query tokenizer (no torch) or an encoder (TorchScript)."""


class LocalModelParameters(Protocol):
    """The parameters every local component declares: which artifact, where to fetch it, how many runs at once."""

    model: str
    version: str | None
    mirror: str | None
    cache_dir: str | None
    progress_bar: bool
    concurrent_runs: int | None


class LocalBackend(Generic[R]):
    """The runner of one component: loaded (or shared) at the first `warm_up`, given back at `close`."""

    def __init__(self, load: Callable[[], Loaded[R]]) -> None:
        """:param load: Loads the runner from the component's parameters; called at warm-up, not here."""
        self.runner: R | None = None
        """None until the first `warm_up`, and again after `close`."""
        self._load = load
        self._release: Callable[[], object] | None = None

    def warm_up(self) -> R:
        """The runner, loaded on the first call."""
        if self.runner is None:
            self.runner, self._release = self._load()
        return self.runner

    def close(self) -> None:
        """Give the runner back (stop its worker threads, release its share of the model); safe to call twice."""
        if self._release is not None:
            self._release()
        self.runner, self._release = None, None


def model_and_version(model: str | PretrainedModel, version: str | None) -> tuple[str, str | None]:
    """A `PretrainedModel` kept as its name and version, which serialize."""
    if isinstance(model, PretrainedModel):
        return model.name, version or model.version
    return model, version


def load_text_embedder(
    parameters: LocalModelParameters, *, model_format: str, providers: list[str] | None = None
) -> Loaded[TextEmbeddingRunner]:
    """
    The text-embedding runner of `model_format` for the component's model.

    "ONNX" runs on onnxruntime with `providers`, "TORCH_SCRIPT" on PyTorch (the `torch` extra); the catalog's artifact
    of that format is fetched, or a custom model directory opened.

    :param parameters: The component.
    :param model_format: "ONNX" or "TORCH_SCRIPT".
    :param providers: onnxruntime execution providers (ONNX only).
    :returns: The runner, and how to close it.
    """
    p = parameters
    artifact = resolve_artifact(
        p.model,
        p.version,
        model_format=model_format,
        mirror=p.mirror,
        cache_dir=p.cache_dir,
        progress_bar=p.progress_bar,
    )
    runner: TextEmbeddingRunner
    if model_format == "TORCH_SCRIPT":
        from opensearch_pretrained_haystack.inference.torchscript_embedder import LocalTorchScriptEmbedder

        runner = LocalTorchScriptEmbedder(artifact, concurrent_runs=p.concurrent_runs)
    else:
        from opensearch_pretrained_haystack.inference.onnx_embedder import LocalOnnxEmbedder

        runner = LocalOnnxEmbedder(artifact, providers=providers, concurrent_runs=p.concurrent_runs)
    return runner, runner.close


def model_prefix(runner: TextEmbeddingRunner, user_prefix: str | None, content_type: str) -> str:
    """
    The prefix the text gets: the text ML Commons embeds for that content type.

    It is the user's prefix if given (even ""), else the model's own `<content_type>_prefix` (asymmetric models), else
    none.
    """
    if user_prefix is not None:
        return user_prefix
    artifact = runner.artifact
    return (artifact.query_prefix if content_type == "query" else artifact.passage_prefix) or ""


def runner_meta(runner: Any) -> dict[str, Any]:
    """The `meta` of a local component's output: the model's catalog name and version."""
    return {"model": runner.name, "version": runner.version}


def embed_text(runner: TextEmbeddingRunner, text: str, *, prefix: str | None, suffix: str) -> dict[str, Any]:
    """The output of a local text embedder: the embedding of one (checked) text, and `meta`."""
    vector = runner.embed([prepare_text(text, model_prefix(runner, prefix, "query"), suffix)])[0]
    return {"embedding": vector.tolist(), "meta": runner_meta(runner)}


def embed_documents(
    runner: TextEmbeddingRunner, prepared: PreparedDocuments, *, batch_size: int, progress_bar: bool
) -> dict[str, Any]:
    """The output of a local document embedder: new documents with `embedding` set, and `meta` with the counts."""
    with tqdm(total=len(prepared.texts), desc="Embedding documents", unit="doc", disable=not progress_bar) as bar:
        vectors = runner.embed(prepared.texts, batch_size=batch_size, on_batch=bar.update)
    embeddings = {i: vector.tolist() for i, vector in zip(prepared.positions, vectors, strict=True)}
    return prepared.output(embeddings, runner_meta(runner))


def load_sparse_engine(parameters: LocalModelParameters) -> Loaded[SparseEngine]:
    """
    The engine the component's sparse artifact needs.

    A SPARSE_TOKENIZE query tokenizer (shared, keyed by content; no torch) or a SPARSE_ENCODING TorchScript encoder.

    :param parameters: The component.
    :returns: The engine, and how to give it back.
    """
    p = parameters
    artifact = resolve_sparse_artifact(
        p.model, p.version, mirror=p.mirror, cache_dir=p.cache_dir, progress_bar=p.progress_bar
    )
    if artifact.task_type == "SPARSE_TOKENIZE":
        lease = shared_sparse_tokenizer(artifact)
        return lease.value, lease.release
    from opensearch_pretrained_haystack.inference.sparse_encoder import LocalSparseEncoder

    encoder = LocalSparseEncoder(artifact, concurrent_runs=p.concurrent_runs)
    return encoder, encoder.close


def encode_sparse(
    engine: SparseEngine,
    texts: Sequence[str],
    *,
    batch_size: int = 32,
    on_batch: Callable[[int], object] | None = None,
) -> list[SparseEmbedding]:
    """Encode with whichever engine the artifact needs; `on_batch` is told how many texts each run held."""
    if isinstance(engine, SparseTokenizer):  # a table look-up: one run
        embeddings = engine.encode_sparse(texts)
        if on_batch is not None:
            on_batch(len(texts))
        return embeddings
    return engine.encode_sparse(texts, batch_size=batch_size, on_batch=on_batch)
