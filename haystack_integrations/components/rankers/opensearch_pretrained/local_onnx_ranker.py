"""``LocalOnnxRanker``: reranks documents offline with the scores the cluster's cross-encoder would give."""

from __future__ import annotations

import asyncio
from typing import Any

from haystack import Document, component, default_from_dict

from haystack_integrations.components.rankers.opensearch_pretrained._ranking import RankingParameters
from opensearch_pretrained_haystack.inference.cross_encoder import LocalOnnxCrossEncoder
from opensearch_pretrained_haystack.serialization import init_parameters_to_dict


@component
class LocalOnnxRanker(RankingParameters):
    """
    Ranks documents by an OpenSearch pretrained cross-encoder (ONNX), computed as ML Commons computes it.

    Scores equal ``OpenSearchMLRanker``'s (the same model deployed in the cluster) to 1e-5. Documents come back as
    new objects, best first. Documents without content cannot be scored: they are returned after the ranked ones
    with ``score=None`` (never dropped, whatever ``top_k`` and ``score_threshold``), and a warning counts them.

    Usage example:
    ```python
    from haystack import Document
    from haystack_integrations.components.rankers.opensearch_pretrained import LocalOnnxRanker

    ranker = LocalOnnxRanker(model="ms-marco-MiniLM-L-6-v2", top_k=3)
    result = ranker.run(query="What is OpenSearch?", documents=[Document(content="OpenSearch is a search engine.")])
    result["documents"][0].score  # the raw logit, as the cluster returns it
    ```
    """

    def __init__(
        self,
        *,
        model: str = "ms-marco-MiniLM-L-6-v2",
        version: str | None = None,
        mirror: str | None = None,
        cache_dir: str | None = None,
        top_k: int = 10,
        query_prefix: str = "",
        query_suffix: str = "",
        document_prefix: str = "",
        document_suffix: str = "",
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = "\n",
        scale_score: bool = False,
        score_threshold: float | None = None,
        batch_size: int = 32,
        progress_bar: bool = True,
        providers: list[str] | None = None,
        concurrent_runs: int | None = None,
    ) -> None:
        """
        Create the component; the model is loaded at ``warm_up``, not here.

        :param model: A catalog cross-encoder name or alias, or a directory with a custom model zip and its
            ``config.json`` (TEXT_SIMILARITY, ONNX).
        :param version: The catalog version; ``None`` takes the newest.
        :param mirror: A directory or URL laid out like the artifacts site, for offline or air-gapped machines.
        :param cache_dir: Where verified artifacts are kept (default: ``$OPENSEARCH_PRETRAINED_CACHE`` or the user
            cache).
        :param top_k: How many ranked documents to return at most.
        :param query_prefix: Text put before the query.
        :param query_suffix: Text put after the query.
        :param document_prefix: Text put before each document's text.
        :param document_suffix: Text put after each document's text.
        :param meta_fields_to_embed: Meta fields whose values are put before the content.
        :param embedding_separator: Joins the meta values and the content.
        :param scale_score: Apply a sigmoid to the scores. The cluster (``_predict`` and the ``rerank`` search
            processor) returns raw logits, so the default ``False`` keeps scores, and thresholds, identical to the
            cluster's; the order is the same either way (Sentence Transformers' ranker defaults to ``True``).
        :param score_threshold: Return only documents scoring at least this (after scaling, if any).
        :param batch_size: Pairs per inference run; pairs are sorted by length first, so runs pad little.
        :param progress_bar: Show a progress bar while the model is downloaded.
        :param providers: onnxruntime execution providers (default CPU).
        :param concurrent_runs: Single-threaded inference runs at once (default: the CPUs this process may use).
        """
        # Explicit base call: @component re-creates the class, which breaks zero-argument super().
        RankingParameters.__init__(
            self,
            top_k,
            query_prefix,
            query_suffix,
            document_prefix,
            document_suffix,
            meta_fields_to_embed,
            embedding_separator,
            scale_score,
            score_threshold,
            batch_size,
        )
        self.model = model
        self.version = version
        self.mirror = mirror
        self.cache_dir = cache_dir
        self.progress_bar = progress_bar
        self.providers = providers
        self.concurrent_runs = concurrent_runs
        self._encoder: LocalOnnxCrossEncoder | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component: its ``__init__`` parameters."""
        return init_parameters_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LocalOnnxRanker:
        """Deserialize the component."""
        return default_from_dict(cls, data)

    def warm_up(self) -> None:
        """Load the model; calling it again does nothing."""
        if self._encoder is None:
            self._encoder = LocalOnnxCrossEncoder(
                self.model,
                self.version,
                mirror=self.mirror,
                cache_dir=self.cache_dir,
                providers=self.providers,
                concurrent_runs=self.concurrent_runs,
                progress_bar=self.progress_bar,
            )

    def close(self) -> None:
        """Let go of the model; the next ``run`` warms up again."""
        if self._encoder is not None:
            self._encoder.close()
            self._encoder = None

    def _get_telemetry_data(self) -> dict[str, Any]:
        return {"model": self.model}

    @component.output_types(documents=list[Document])
    def run(
        self,
        query: str,
        documents: list[Document],
        top_k: int | None = None,
        scale_score: bool | None = None,
        score_threshold: float | None = None,
    ) -> dict[str, list[Document]]:
        """
        Rank documents by their relevance to the query.

        :param query: The query.
        :param documents: The documents to rank; they are not modified.
        :param top_k: Overrides ``top_k`` of ``__init__``.
        :param scale_score: Overrides ``scale_score`` of ``__init__``.
        :param score_threshold: Overrides ``score_threshold`` of ``__init__``.
        :returns: ``documents``: new objects with ``score`` set, best first, then the documents without content.
        """
        prepared = self._prepare(query, documents, top_k)
        self.warm_up()
        assert self._encoder is not None
        logits = self._encoder.score(prepared.query, prepared.texts, batch_size=self.batch_size)
        return self._ranked(
            documents, prepared, logits, top_k=top_k, scale_score=scale_score, score_threshold=score_threshold
        )

    @component.output_types(documents=list[Document])
    async def run_async(
        self,
        query: str,
        documents: list[Document],
        top_k: int | None = None,
        scale_score: bool | None = None,
        score_threshold: float | None = None,
    ) -> dict[str, list[Document]]:
        """
        Like ``run``, on a worker thread so the event loop stays free while the CPU computes.

        :param query: The query.
        :param documents: The documents to rank; they are not modified.
        :param top_k: Overrides ``top_k`` of ``__init__``.
        :param scale_score: Overrides ``scale_score`` of ``__init__``.
        :param score_threshold: Overrides ``score_threshold`` of ``__init__``.
        :returns: ``documents``: new objects with ``score`` set, best first, then the documents without content.
        """
        return await asyncio.to_thread(self.run, query, documents, top_k, scale_score, score_threshold)
