"""``LocalOnnxEmbedder``: the cluster's ONNX text embedding, computed on this machine.

ML Commons embeds one text per inference; here texts are sorted by length and padded per batch, which is
several times faster and gives the same vectors, because padding is masked out everywhere it could matter.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
from tokenizers import Encoding, Tokenizer

from opensearch_pretrained_haystack.artifacts import ModelArtifact, ModelSource, resolve_artifact
from opensearch_pretrained_haystack.errors import ModelInputError
from opensearch_pretrained_haystack.inference.onnx_session import shared_session
from opensearch_pretrained_haystack.inference.pooling import l2_normalize, pooling_for
from opensearch_pretrained_haystack.inference.runner import OnnxRunner
from opensearch_pretrained_haystack.inference.tokenizer import ModelTokenizer, shared_tokenizer


class LocalOnnxEmbedder(OnnxRunner[ModelTokenizer]):
    """Embeds texts with a pretrained (or custom) ONNX artifact exactly as ML Commons would.

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
        self._model_tokenizer = self._tokenizer_lease.value
        self.max_tokens = self._model_tokenizer.max_tokens
        self._input_names = tuple(i.name for i in self._session.get_inputs())
        outputs = self._session.get_outputs()
        # ML Commons reads output 0 (token embeddings); only NONE takes output 1 (a pooled output) when there is one.
        self._output_name = outputs[1].name if self.pooling_mode == "NONE" and len(outputs) > 1 else outputs[0].name
        self.dimension = int(config.get("embedding_dimension") or outputs[0].shape[-1])

    @property
    def tokenizer(self) -> Tokenizer:
        """The artifact's shared tokenizer, without truncation (``count_tokens`` counts what the model sees)."""
        return self._model_tokenizer.tokenizer

    def embed(
        self, texts: Sequence[str], batch_size: int = 32, on_batch: Callable[[int], object] | None = None
    ) -> np.ndarray:
        """Embed ``texts`` into a float32 array of shape ``(len(texts), dimension)``, in input order.

        Texts are sorted by length and cut into runs of at most ``batch_size`` texts and about ``BATCH_TOKENS``
        tokens; ``on_batch`` is told how many texts each finished run held (for progress bars).
        """
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(
                    f"Text {index} is {type(text).__name__}, not str: LocalOnnxEmbedder embeds strings only."
                )
        self._check_open()
        result = np.empty((len(texts), self.dimension), dtype=np.float32)
        encodings = self._model_tokenizer.encode_batch(texts) if texts else []
        return self._run_batches(encodings, batch_size, self._embed_encoded, result, on_batch)

    def count_tokens(self, text: str) -> int:
        """How many tokens of ``text`` the model sees (after truncation, with special tokens)."""
        return len(self._model_tokenizer.encode_batch([text])[0].ids)

    def _embed_encoded(self, encodings: list[Encoding]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        (output,) = self._session.run([self._output_name], feeds)
        vectors = self._pooling(output.astype(np.float32, copy=False), mask)
        return l2_normalize(vectors) if self.normalize else vectors
