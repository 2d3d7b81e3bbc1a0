"""
``LocalOnnxCrossEncoder``: the cluster's TEXT_SIMILARITY (cross-encoder) scores, computed on this machine.

ML Commons' ``TextSimilarityTranslator`` encodes each (query, document) pair through the artifact's
``tokenizer.json`` as ``encode(query, document)`` — ``[CLS] query [SEP] document [SEP]`` with token types 0 for
the query part and 1 for the document part, LongestFirst truncation at the tokenizer's limit (capped at 512) —
always sends ``input_ids``, ``attention_mask`` and ``token_type_ids``, and returns the raw logit (no sigmoid).
It runs one pair per inference; here pairs are sorted by length and padded per run, as ``LocalOnnxEmbedder``
does, which gives the same logits because padding is masked out.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
from tokenizers import Encoding, Tokenizer

from opensearch_pretrained_haystack.artifacts import ModelArtifact, ModelSource, loaded_artifacts, resolve_artifact
from opensearch_pretrained_haystack.errors import ModelInputError
from opensearch_pretrained_haystack.families.text_similarity import FAMILY, PAIR_INPUTS
from opensearch_pretrained_haystack.inference.onnx_session import shared_session
from opensearch_pretrained_haystack.inference.runner import OnnxRunner, padded_inputs
from opensearch_pretrained_haystack.inference.tokenizer import load_tokenizer

TASK_TYPE = FAMILY.task_type
INPUT_NAMES = PAIR_INPUTS
"""What TextSimilarityTranslator always sends, whatever the model type."""


class CrossEncoderRunner(OnnxRunner[tuple[Tokenizer, int]]):
    """
    What the local cross-encoders share, whatever runtime they hold.

    Pairs tokenized as the cluster does, scored in length-sorted runs; subclasses load the model and compute one run's
    logits.
    """

    tokenizer: Tokenizer
    max_tokens: int

    def score(
        self,
        query: str,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        on_batch: Callable[[int], object] | None = None,
    ) -> np.ndarray:
        """Raw logits (float32, shape ``(len(texts),)``, input order) of ``query`` against each text."""
        return self.score_pairs([(query, text) for text in texts], batch_size=batch_size, on_batch=on_batch)

    def score_pairs(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        batch_size: int = 32,
        on_batch: Callable[[int], object] | None = None,
    ) -> np.ndarray:
        """
        Raw logits (float32, shape ``(len(pairs),)``, input order) of (query, document) pairs.

        Pairs are sorted by length and cut into runs of at most ``batch_size`` pairs and about ``BATCH_TOKENS``
        tokens; ``on_batch`` is told how many pairs each finished run held (for progress bars).
        """
        for index, pair in enumerate(pairs):
            if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(part, str) for part in pair)):
                raise TypeError(f"Pair {index} is {pair!r:.80}, not a (query, document) tuple of two strings.")
        self._check_open()
        result = np.empty(len(pairs), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(pairs)) if pairs else []
        return self._run_batches(encodings, batch_size, self._score_encoded, result, on_batch)

    def count_tokens(self, query: str, text: str) -> int:
        """How many tokens of the pair the model sees (after truncation, with special tokens)."""
        return len(self.tokenizer.encode(query, text).ids)

    def _score_encoded(self, encodings: list[Encoding]) -> np.ndarray:
        logits = self._logits(padded_inputs(encodings, INPUT_NAMES))
        # One logit per pair (a [batch, 1] tensor); ML Commons returns the first value of each output.
        return np.asarray(logits, dtype=np.float32).reshape(len(encodings), -1)[:, 0]

    def _logits(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def _check_task(self, artifact: ModelArtifact) -> None:
        if artifact.task_type != FAMILY.task_type:
            raise ModelInputError(
                f"{artifact.name} is a {artifact.task_type} model; {type(self).__name__} runs {FAMILY.task_type} "
                "models (cross-encoders such as ms-marco-MiniLM-L-6-v2). Use LocalOnnxEmbedder for embedding models."
            )


class LocalOnnxCrossEncoder(CrossEncoderRunner):
    """
    Scores (query, document) pairs with an ONNX cross-encoder artifact exactly as ML Commons would.

    Usage example:
    ```python
    encoder = LocalOnnxCrossEncoder("ms-marco-MiniLM-L-6-v2", version="1.0.2")
    logits = encoder.score("what is opensearch?", ["OpenSearch is a search engine.", "Bananas are yellow."])
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
        :param concurrent_runs: How many single-threaded inference runs go at once (default: the usable CPUs).
        """
        artifact = resolve_artifact(model, version, mirror=mirror, cache_dir=cache_dir, progress_bar=progress_bar)
        self._load(artifact, providers, concurrent_runs)

    def _load(self, artifact: ModelArtifact, providers: Sequence[str] | None, concurrent_runs: int | None) -> None:
        self._check_task(artifact)
        if artifact.model_format != "ONNX":
            raise ModelInputError(
                f"{artifact.name} is a {artifact.model_format} artifact; "
                "LocalOnnxCrossEncoder runs ONNX artifacts only."
            )
        self.artifact = artifact
        self.name = artifact.name
        self.version = artifact.version
        self._hold(
            lambda: shared_session(artifact, providers),  # its inputs checked by the family's rule
            lambda: loaded_artifacts.acquire("pair-tokenizer", artifact, pair_tokenizer),
            concurrent_runs=concurrent_runs,
            thread_name_prefix="onnx-rerank",
        )
        self.tokenizer, self.max_tokens = self._tokenizer_lease.value
        self._output_name = self._session.get_outputs()[0].name

    def _logits(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        (logits,) = self._session.run([self._output_name], feeds)
        return np.asarray(logits)


def pair_tokenizer(artifact: ModelArtifact) -> tuple[Tokenizer, int]:
    """
    A tokenizer of its own that truncates pairs LongestFirst at the cluster's limit, as DJL's does.

    The shared single-text tokenizer stays untruncated for the splitter and the embedders.
    """
    model_tokenizer = load_tokenizer(artifact)
    tokenizer = model_tokenizer.tokenizer
    tokenizer.enable_truncation(model_tokenizer.max_tokens, strategy="longest_first")
    return tokenizer, model_tokenizer.max_tokens
