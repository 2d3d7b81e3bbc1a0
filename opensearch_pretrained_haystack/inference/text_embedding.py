"""
What the local text embedders share, whatever runtime they hold.

The artifact's tokenizer, ``embed`` in length-sorted runs, token counts — and ``local_embedder``, which picks the
runtime the artifact was built for.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from opensearch_pretrained_haystack.artifacts import ModelArtifact, ModelSource, resolve_artifact
from opensearch_pretrained_haystack.inference.runner import OnnxRunner
from opensearch_pretrained_haystack.inference.tokenizer import ModelTokenizer, TokenIds


class TextEmbeddingRunner(OnnxRunner[ModelTokenizer]):
    """A text embedder on the shared runner; subclasses load the model and embed one padded run."""

    artifact: ModelArtifact
    dimension: int
    version: str

    def _take_tokenizer(self) -> None:
        self._model_tokenizer: ModelTokenizer = self._tokenizer_lease.value
        self.max_tokens = self._model_tokenizer.max_tokens

    @property
    def tokenizer(self) -> Tokenizer:
        """The artifact's shared tokenizer, without truncation (``count_tokens`` counts what the model sees)."""
        return self._model_tokenizer.tokenizer

    def embed(
        self, texts: Sequence[str], batch_size: int = 32, on_batch: Callable[[int], object] | None = None
    ) -> np.ndarray:
        """
        Embed ``texts`` into a float32 array of shape ``(len(texts), dimension)``, in input order.

        Texts are sorted by length and cut into runs of at most ``batch_size`` texts and about ``BATCH_TOKENS``
        tokens; ``on_batch`` is told how many texts each finished run held (for progress bars).
        """
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(
                    f"Text {index} is {type(text).__name__}, not str: {type(self).__name__} embeds strings only."
                )
        self._check_open()
        result = np.empty((len(texts), self.dimension), dtype=np.float32)
        encodings = self._model_tokenizer.encode_batch(texts) if texts else []
        return self._run_batches(encodings, batch_size, self._embed_encoded, result, on_batch)

    def count_tokens(self, text: str) -> int:
        """How many tokens of ``text`` the model sees (after truncation, with special tokens)."""
        return len(self._model_tokenizer.encode_batch([text])[0].ids)

    def _embed_encoded(self, encodings: list[TokenIds]) -> np.ndarray:
        raise NotImplementedError


def local_embedder(
    model: ModelSource,
    version: str | None = None,
    *,
    model_format: str = "ONNX",
    mirror: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    concurrent_runs: int | None = None,
    progress_bar: bool = True,
    **runtime_options: Any,
) -> TextEmbeddingRunner:
    """
    The local embedder for the runtime the artifact was built for.

    ``LocalOnnxEmbedder`` for ONNX, ``LocalTorchScriptEmbedder`` for TORCH_SCRIPT (``model_format`` picks the catalog's
    artifact; a directory or zip says its own format in its config.json). ``runtime_options``: ``providers`` for ONNX.
    """
    artifact = resolve_artifact(
        model, version, model_format=model_format, mirror=mirror, cache_dir=cache_dir, progress_bar=progress_bar
    )
    if artifact.model_format == "TORCH_SCRIPT":
        from opensearch_pretrained_haystack.inference.torchscript_embedder import LocalTorchScriptEmbedder

        return LocalTorchScriptEmbedder(artifact, concurrent_runs=concurrent_runs)
    from opensearch_pretrained_haystack.inference.onnx_embedder import LocalOnnxEmbedder

    return LocalOnnxEmbedder(artifact, concurrent_runs=concurrent_runs, **runtime_options)
