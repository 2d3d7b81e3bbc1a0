"""
``LocalOnnxEmbedder``: the cluster's ONNX text embedding, computed on this machine.

ML Commons embeds one text per inference; here texts are sorted by length and padded per batch, which is
several times faster and gives the same vectors, because padding is masked out everywhere it could matter.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from opensearch_pretrained_haystack.artifacts import ModelArtifact, ModelSource, resolve_artifact
from opensearch_pretrained_haystack.errors import ModelInputError
from opensearch_pretrained_haystack.inference.onnx_session import shared_session
from opensearch_pretrained_haystack.inference.pooling import l2_normalize, pooling_for
from opensearch_pretrained_haystack.inference.runner import padded_inputs
from opensearch_pretrained_haystack.inference.text_embedding import TextEmbeddingRunner
from opensearch_pretrained_haystack.inference.tokenizer import TokenIds, shared_tokenizer


class LocalOnnxEmbedder(TextEmbeddingRunner):
    """
    Embeds texts with a pretrained (or custom) ONNX artifact exactly as ML Commons would.

    The tokenizer and the ONNX session come from the process-wide cache of loaded artifacts, so embedders (and
    splitters) of one model share them; ``close`` stops this embedder's workers and gives its share back.

    Usage example:
    ```python
    embedder = LocalOnnxEmbedder("all-MiniLM-L6-v2", version="1.0.1")
    vectors = embedder.embed(["OpenSearch is a search engine."])  # float32, shape (1, 384)
    embedder.close()
    ```
    """

    def __init__(
        self,
        model: ModelSource,
        version: str | None = None,
        *,
        mirror: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        providers: Sequence[str] | None = None,
        concurrent_runs: int | None = None,
        progress_bar: bool = True,
    ) -> None:
        """
        Resolve the artifact and load the model.

        :param model: A catalog name or alias, a ``PretrainedModel``, a custom model directory or zip, or a
            ``ModelArtifact``.
        :param concurrent_runs: How many inference runs go at once, each single-threaded (onnxruntime releases
            the GIL; whole runs parallelize better than the operators inside one small run). Default: the CPUs
            this process may use.
        """
        artifact = resolve_artifact(model, version, mirror=mirror, cache_dir=cache_dir, progress_bar=progress_bar)
        self._load(artifact, providers, concurrent_runs)

    @classmethod
    def from_artifact(
        cls,
        artifact: ModelArtifact,
        *,
        providers: Sequence[str] | None = None,
        concurrent_runs: int | None = None,
    ) -> LocalOnnxEmbedder:
        """Build from an artifact already fetched or loaded (see ``artifacts``); the same as passing it as ``model``."""
        return cls(
            artifact,
            providers=providers,
            concurrent_runs=concurrent_runs,
        )

    def _load(self, artifact: ModelArtifact, providers: Sequence[str] | None, concurrent_runs: int | None) -> None:
        if artifact.model_format != "ONNX":
            raise ModelInputError(
                f"{artifact.name} is a {artifact.model_format} artifact; LocalOnnxEmbedder runs ONNX artifacts only."
            )
        config = artifact.model_config
        self.artifact = artifact
        self.name = artifact.name
        self.version = artifact.version
        self.model_type = artifact.model_type
        self.pooling_mode = str(config.get("pooling_mode") or "MEAN").upper()
        self.normalize = bool(config.get("normalize_result", False))
        self._pooling = pooling_for(self.pooling_mode)
        self._hold(
            lambda: shared_session(artifact, providers),
            lambda: shared_tokenizer(artifact),
            concurrent_runs=concurrent_runs,
            thread_name_prefix="onnx-embed",
        )
        self._take_tokenizer()
        self._input_names = tuple(i.name for i in self._session.get_inputs())
        outputs = self._session.get_outputs()
        # ML Commons reads output 0 (token embeddings); only NONE takes output 1 (a pooled output) when there is one.
        self._output_name = outputs[1].name if self.pooling_mode == "NONE" and len(outputs) > 1 else outputs[0].name
        self.dimension = int(config.get("embedding_dimension") or outputs[0].shape[-1])

    def _embed_encoded(self, encodings: list[TokenIds]) -> np.ndarray:
        # Single texts: the encodings' type ids are all 0, what ML Commons sends a bert/albert graph.
        feeds = padded_inputs(encodings, self._input_names)
        (output,) = self._session.run([self._output_name], feeds)
        vectors = self._pooling(output.astype(np.float32, copy=False), feeds["attention_mask"])
        return l2_normalize(vectors) if self.normalize else vectors
