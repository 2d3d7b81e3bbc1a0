"""
What the local sparse text and document embedders share.

The model parameters, loading the right engine for the artifact (a SPARSE_ENCODING TorchScript encoder, or a
SPARSE_TOKENIZE query tokenizer), and the lifecycle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Union

from haystack.dataclasses import SparseEmbedding

from opensearch_pretrained_haystack.artifacts import Lease
from opensearch_pretrained_haystack.inference.sparse_tokenizer import (
    SparseTokenizer,
    resolve_sparse_artifact,
    shared_sparse_tokenizer,
)
from opensearch_pretrained_haystack.serialization import (
    InitParametersSerialization,
)

if TYPE_CHECKING:  # the encoder imports the TorchScript runtime: only loaded for an encoder artifact
    from opensearch_pretrained_haystack.inference.sparse_encoder import LocalSparseEncoder

SparseEngine = Union[SparseTokenizer, "LocalSparseEncoder"]
"""A local sparse model: a query tokenizer (no torch) or an encoder (TorchScript)."""


class LocalSparseComponent(InitParametersSerialization):
    """
    Holds the model parameters; ``warm_up`` loads (or shares) the engine the artifact needs, idempotently.

    A query tokenizer and an encoder's TorchScript module are shared through the process's cache of loaded
    artifacts (keyed by content); ``close`` gives this component's share back and stops its worker threads.
    """

    def __init__(
        self,
        model: str,
        version: str | None,
        mirror: str | None,
        cache_dir: str | None,
        progress_bar: bool,
        concurrent_runs: int | None,
    ) -> None:
        self.model = model
        self.version = version
        self.mirror = mirror
        self.cache_dir = cache_dir
        self.progress_bar = progress_bar
        self.concurrent_runs = concurrent_runs
        self._engine: SparseEngine | None = None
        self._tokenizer_lease: Lease[SparseTokenizer] | None = None

    def warm_up(self) -> None:
        """Load (or reuse) the model; calling it again does nothing."""
        if self._engine is not None:
            return
        artifact = resolve_sparse_artifact(
            self.model, self.version, mirror=self.mirror, cache_dir=self.cache_dir, progress_bar=self.progress_bar
        )
        if artifact.task_type == "SPARSE_TOKENIZE":
            self._tokenizer_lease = shared_sparse_tokenizer(artifact)
            self._engine = self._tokenizer_lease.value
        else:
            from opensearch_pretrained_haystack.inference.sparse_encoder import LocalSparseEncoder

            self._engine = LocalSparseEncoder(artifact, concurrent_runs=self.concurrent_runs)

    def close(self) -> None:
        """Give back this component's share of the model; the next ``run`` warms up again."""
        if self._tokenizer_lease is not None:
            self._tokenizer_lease.release()
        elif self._engine is not None and not isinstance(self._engine, SparseTokenizer):
            self._engine.close()
        self._engine, self._tokenizer_lease = None, None

    def _warm(self) -> SparseEngine:
        self.warm_up()
        assert self._engine is not None
        return self._engine

    def _encode_sparse(
        self, texts: Sequence[str], *, batch_size: int = 32, on_batch: Callable[[int], object] | None = None
    ) -> list[SparseEmbedding]:
        """Encode with whichever engine the artifact needs; ``on_batch`` is told how many texts each run held."""
        engine = self._warm()
        if isinstance(engine, SparseTokenizer):  # a table look-up: one run
            embeddings = engine.encode_sparse(texts)
            if on_batch is not None:
                on_batch(len(texts))
            return embeddings
        return engine.encode_sparse(texts, batch_size=batch_size, on_batch=on_batch)

    def _meta(self) -> dict[str, Any]:
        engine = self._warm()
        return {"model": engine.name, "version": engine.version}

    def to_token_weights(self, embedding: SparseEmbedding) -> dict[str, float]:
        """The ``{token: weight}`` map OpenSearch wants, for an embedding of this model's vocabulary."""
        return self._warm().vocabulary.to_token_weights(embedding)
