"""
What the local text and document embedders share, whatever runtime runs the artifact.

Parameters, lifecycle, serialization, and the ``run`` methods (``TextEmbeddingRun``, ``DocumentEmbeddingRun``).

A component's class names its runtime (``LocalOnnx*`` runs ONNX artifacts, ``LocalTorchScript*`` TORCH_SCRIPT
ones), so the name never lies about what runs; everything else is shared.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from haystack import Document, component
from tqdm import tqdm

from opensearch_pretrained_haystack.artifacts import ModelArtifact, resolve_artifact
from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.inference.text_embedding import TextEmbeddingRunner
from opensearch_pretrained_haystack.serialization import (
    InitParametersSerialization,
)
from opensearch_pretrained_haystack.text_preparation import (
    check_text,
    prepare_documents,
    prepare_text,
)


class LocalEmbedderComponent(InitParametersSerialization):
    """
    Holds the model parameters; loads the model lazily and idempotently, as Haystack's lifecycle expects.

    The tokenizer and the model are shared through the process's cache of loaded artifacts, so a text and a
    document embedder (and a splitter) of one model load it once; each component has its own worker threads.
    """

    model_format: ClassVar[str]
    """The artifact format this component's runtime runs (the catalog's artifact of that format is fetched)."""

    def __init__(
        self,
        model: str | PretrainedModel,
        version: str | None,
        mirror: str | None,
        cache_dir: str | None,
        progress_bar: bool,
        concurrent_runs: int | None,
    ) -> None:
        if isinstance(model, PretrainedModel):  # kept as name and version, which serialize
            version = version or model.version
            model = model.name
        self.model = model
        self.version = version
        self.mirror = mirror
        self.cache_dir = cache_dir
        self.progress_bar = progress_bar
        self.concurrent_runs = concurrent_runs
        self._embedder: TextEmbeddingRunner | None = None

    def _load(self, artifact: ModelArtifact) -> TextEmbeddingRunner:
        raise NotImplementedError

    def warm_up(self) -> None:
        """Load (or share) the model; calling it again does nothing."""
        if self._embedder is None:
            artifact = resolve_artifact(
                self.model,
                self.version,
                model_format=self.model_format,
                mirror=self.mirror,
                cache_dir=self.cache_dir,
                progress_bar=self.progress_bar,
            )
            self._embedder = self._load(artifact)

    def close(self) -> None:
        """Stop the worker threads and give back this component's share of the model; ``run`` warms up again."""
        if self._embedder is not None:
            self._embedder.close()
            self._embedder = None

    def _warm_embedder(self) -> TextEmbeddingRunner:
        self.warm_up()
        assert self._embedder is not None
        return self._embedder

    def _prefix(self, user_prefix: str | None, content_type: str) -> str:
        """
        The prefix to put before each text: the text ML Commons embeds for that content type.

        The user's prefix if given (even ""), else the model's own ``<content_type>_prefix`` (asymmetric models), else
        none.
        """
        if user_prefix is not None:
            return user_prefix
        artifact = self._warm_embedder().artifact
        return (artifact.query_prefix if content_type == "query" else artifact.passage_prefix) or ""

    def _meta(self) -> dict[str, Any]:
        embedder = self._warm_embedder()
        return {"model": embedder.name, "version": embedder.version}


class LocalOnnxComponent(LocalEmbedderComponent):
    """Runs ONNX artifacts with onnxruntime (``LocalOnnxEmbedder``)."""

    model_format = "ONNX"

    def __init__(
        self,
        model: str | PretrainedModel,
        version: str | None,
        mirror: str | None,
        cache_dir: str | None,
        progress_bar: bool,
        providers: list[str] | None,
        concurrent_runs: int | None,
    ) -> None:
        LocalEmbedderComponent.__init__(self, model, version, mirror, cache_dir, progress_bar, concurrent_runs)
        self.providers = providers

    def _load(self, artifact: ModelArtifact) -> TextEmbeddingRunner:
        from opensearch_pretrained_haystack.inference.onnx_embedder import LocalOnnxEmbedder

        return LocalOnnxEmbedder(artifact, providers=self.providers, concurrent_runs=self.concurrent_runs)


class LocalTorchScriptComponent(LocalEmbedderComponent):
    """Runs TORCH_SCRIPT artifacts with PyTorch (``LocalTorchScriptEmbedder``, the ``torch`` extra)."""

    model_format = "TORCH_SCRIPT"

    def _load(self, artifact: ModelArtifact) -> TextEmbeddingRunner:
        from opensearch_pretrained_haystack.inference.torchscript_embedder import LocalTorchScriptEmbedder

        return LocalTorchScriptEmbedder(artifact, concurrent_runs=self.concurrent_runs)


class TextEmbeddingRun(LocalEmbedderComponent):
    """``run`` of a local text embedder: one string in, its embedding out."""

    document_sibling: ClassVar[str]
    prefix: str | None
    suffix: str

    @component.output_types(embedding=list[float], meta=dict[str, Any])
    def run(self, text: str) -> dict[str, Any]:
        """
        Embed one text.

        :param text: The text; an empty or whitespace-only text still gets the model's embedding, as in the cluster.
        :returns: ``embedding`` (a list of floats) and ``meta`` (model name and version).
        """
        check_text(type(self).__name__, self.document_sibling, text)
        embedder = self._warm_embedder()
        vector = embedder.embed([prepare_text(text, self._prefix(self.prefix, "query"), self.suffix)])[0]
        return {"embedding": vector.tolist(), "meta": self._meta()}

    @component.output_types(embedding=list[float], meta=dict[str, Any])
    async def run_async(self, text: str) -> dict[str, Any]:
        """
        Like ``run``, on a worker thread so the event loop stays free while the CPU computes.

        :param text: The text; an empty or whitespace-only text still gets the model's embedding, as in the cluster.
        :returns: ``embedding`` (a list of floats) and ``meta`` (model name and version).
        """
        return await asyncio.to_thread(self.run, text)


class DocumentEmbeddingRun(LocalEmbedderComponent):
    """``run`` of a local document embedder: documents in, new documents with ``embedding`` out."""

    text_sibling: ClassVar[str]
    prefix: str | None
    suffix: str
    batch_size: int
    meta_fields_to_embed: list[str]
    embedding_separator: str

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """
        Embed documents.

        :param documents: The documents; they are not modified.
        :returns: ``documents`` (new objects with ``embedding`` set, in input order) and ``meta`` (model, version,
            counts of embedded documents and of documents without content).
        """
        embedder = self._warm_embedder()
        prepared = prepare_documents(self, self.text_sibling, documents, prefix=self._prefix(self.prefix, "passage"))
        with tqdm(
            total=len(prepared.texts), desc="Embedding documents", unit="doc", disable=not self.progress_bar
        ) as bar:
            vectors = embedder.embed(prepared.texts, batch_size=self.batch_size, on_batch=bar.update)
        embeddings = {i: vector.tolist() for i, vector in zip(prepared.positions, vectors, strict=True)}
        return prepared.output(embeddings, self._meta())

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    async def run_async(self, documents: list[Document]) -> dict[str, Any]:
        """
        Like ``run``, on a worker thread so the event loop stays free while the CPU computes.

        :param documents: The documents; they are not modified.
        :returns: ``documents`` (new objects with ``embedding`` set, in input order) and ``meta`` (model, version,
            counts of embedded documents and of documents without content).
        """
        return await asyncio.to_thread(self.run, documents)
