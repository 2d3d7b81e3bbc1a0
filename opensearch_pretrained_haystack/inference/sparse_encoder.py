"""
``LocalSparseEncoder``: ML Commons' SPARSE_ENCODING, computed on this machine with the TorchScript runtime.

A neural-sparse encoder artifact (``amazon/neural-sparse/opensearch-neural-sparse-encoding-*``) traces the whole
encoding: per vocabulary id, the activation of the max over tokens of the masked logits (``log(1 + relu(·))``;
the v3 models ``log(1 + log(1 + relu(·)))``), special-token ids zeroed, and the doc-v3 models' pruning. ML Commons
(``SparseEncodingTranslator``) feeds it ``{"input_ids", "attention_mask"}`` of one text, cut at 512 tokens, then
keeps every non-zero id, in ascending order, under the string that id decodes to alone (special tokens skipped;
empty strings dropped; a later id with the same string replaces an earlier one, as its ``HashMap.put`` does), or
from 3.2 with ``sparse_embedding_format=token_id`` under the id itself as a string.

Here texts run in length-sorted padded batches (the graph multiplies the logits by the mask, and the activation
is zero at or below zero, so padding changes nothing) and the same post-processing is applied to each row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Unpack

import numpy as np
from haystack.dataclasses import SparseEmbedding

from opensearch_pretrained_haystack.artifacts import ModelArtifact, ModelSource, loaded_artifacts
from opensearch_pretrained_haystack.errors import ArtifactFormatError, ModelInputError
from opensearch_pretrained_haystack.inference.runner import OnnxRunner, padded_inputs
from opensearch_pretrained_haystack.inference.sparse_tokenizer import SparseVocabulary
from opensearch_pretrained_haystack.inference.tokenizer import ModelTokenizer, TokenIds, load_tokenizer
from opensearch_pretrained_haystack.inference.torchscript import LoadOptions, ScriptEngine, load_torch_script

TASK_TYPE = "SPARSE_ENCODING"
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "output"
ENGINE = ScriptEngine(
    task_type=TASK_TYPE,
    inputs=INPUT_NAMES,
    takes_dict=True,
    receiver=f"a {TASK_TYPE} model",
    thread_name_prefix="torchscript-sparse",
    hint=" (query tokenizers run in SparseTokenizer, without torch)",
    error=ArtifactFormatError,
)
SparseFormat = Literal["word", "token_id"]
"""``sparse_embedding_format``: token strings (every version) or token ids as strings (ML Commons 3.2+)."""


def _tokenizer_and_vocabulary(artifact: ModelArtifact) -> tuple[ModelTokenizer, SparseVocabulary]:
    tokenizer = load_tokenizer(artifact)
    return tokenizer, SparseVocabulary(tokenizer.tokenizer)


class LocalSparseEncoder(OnnxRunner[tuple[ModelTokenizer, SparseVocabulary]]):
    """
    Encodes texts into ``{token: weight}`` maps with a SPARSE_ENCODING TorchScript artifact, as ML Commons would.

    The encoding is exactly ML Commons' (needs the ``torch`` extra).

    Usage example:
    ```python
    encoder = LocalSparseEncoder("opensearch-neural-sparse-encoding-doc-v3-gte")
    encoder.encode(["OpenSearch is a search engine."])  # [{"opensearch": 1.9, "search": 1.2, ...}]
    encoder.close()
    ```
    """

    def __init__(self, model: ModelSource, version: str | None = None, **options: Unpack[LoadOptions]) -> None:
        """
        Resolve the artifact and load the model.

        :param model: A catalog name or alias, a ``PretrainedModel``, a custom model directory or zip, or a
            ``ModelArtifact``.
        :param version: The catalog version; ``None`` takes the newest.
        :param options: ``mirror``, ``cache_dir``, ``concurrent_runs``, ``progress_bar`` (see ``LoadOptions``).
        :raises MissingExtraError: torch is not installed.
        """
        artifact, self._script = load_torch_script(
            self,
            ENGINE,
            model,
            version,
            tokenizer=lambda artifact: loaded_artifacts.acquire(
                "sparse-tokenizer-vocabulary", artifact, _tokenizer_and_vocabulary
            ),
            **options,
        )
        self.artifact, self.version = artifact, artifact.version
        self._tokenizer, self.vocabulary = self._tokenizer_lease.value
        self.max_tokens = self._tokenizer.max_tokens

    def encode(
        self,
        texts: Sequence[str],
        *,
        sparse_format: SparseFormat = "word",
        batch_size: int = 32,
        on_batch: Callable[[int], object] | None = None,
    ) -> list[dict[str, float]]:
        """The node's ``{token: weight}`` map of each text, in input order (``token_id``: ``{"<id>": weight}``)."""
        if sparse_format not in ("word", "token_id"):
            raise ModelInputError(f"sparse_format {sparse_format!r}: use 'word' or 'token_id'.")
        rows = self._encode_rows(texts, batch_size, on_batch)
        tokens = self.vocabulary.tokens
        maps: list[dict[str, float]] = []
        for ids, weights in rows:
            if sparse_format == "token_id":
                maps.append({str(i): w for i, w in zip(ids, weights, strict=True)})
            else:
                maps.append({tokens[i]: w for i, w in zip(ids, weights, strict=True) if tokens[i]})
        return maps

    def encode_sparse(
        self, texts: Sequence[str], *, batch_size: int = 32, on_batch: Callable[[int], object] | None = None
    ) -> list[SparseEmbedding]:
        """``encode`` as Haystack ``SparseEmbedding``s (indices by ``SparseVocabulary``'s rule, ascending)."""
        return [
            self.vocabulary.to_sparse_embedding(weights)
            for weights in self.encode(texts, batch_size=batch_size, on_batch=on_batch)
        ]

    def count_tokens(self, text: str) -> int:
        """How many tokens of ``text`` the model sees (after the cut at the limit, with special tokens)."""
        return len(self._tokenizer.encode_batch([text])[0].ids)

    def _encode_rows(
        self, texts: Sequence[str], batch_size: int, on_batch: Callable[[int], object] | None
    ) -> list[tuple[list[int], list[float]]]:
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise ModelInputError(
                    f"Text {index} is {type(text).__name__}, not str: {type(self).__name__} encodes strings only."
                )
        self._check_open()
        result = np.empty(len(texts), dtype=object)
        encodings = self._tokenizer.encode_batch(texts) if texts else []
        self._run_batches(encodings, batch_size, self._encode_encoded, result, on_batch)
        return list(result)

    def _encode_encoded(self, encodings: list[TokenIds]) -> np.ndarray:
        outputs = self._script(padded_inputs(encodings, INPUT_NAMES))
        if OUTPUT_NAME not in outputs:
            msg = f"{self.name}: the TorchScript graph returns {sorted(outputs)}, no {OUTPUT_NAME!r}."
            raise ArtifactFormatError(msg)
        weights = outputs[OUTPUT_NAME].reshape(len(encodings), -1)
        rows = np.empty(len(encodings), dtype=object)
        for row, vector in enumerate(weights):
            ids = np.flatnonzero(vector)  # ascending, as the translator walks them
            rows[row] = (ids.tolist(), vector[ids].tolist())
        return rows
