"""
``SparseTokenizer``: ML Commons' SPARSE_TOKENIZE, computed on this machine with no torch.

A query-tokenizer artifact (``amazon/neural-sparse/opensearch-neural-sparse-tokenizer-*``) holds only
``tokenizer.json`` and ``idf.json``. The node (``SparseTokenizerModel``) encodes the text with special tokens, cut
at 512 tokens, takes each distinct token id, decodes it alone with special tokens skipped, drops empty strings,
and weights each token ``idf.get(token, 1.0)``. That is a tokenizer and a table look-up, so it is exact here.

Token strings and ``SparseEmbedding.indices``: Haystack's ``SparseEmbedding`` holds integer indices, OpenSearch
wants ``{token: weight}``. ``SparseVocabulary`` is the bridge: a token string's index is the *smallest* vocabulary
id that decodes (alone, special tokens skipped) to that string, and an index maps back to that decoded string.
The rule is canonical, so a map from the cluster and a map computed here give the same indices, and
``SparseEmbedding → {token: weight} → SparseEmbedding`` is the identity.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from haystack.dataclasses import SparseEmbedding
from tokenizers import Tokenizer

from opensearch_pretrained_haystack.artifacts import (
    Lease,
    ModelArtifact,
    ModelSource,
    loaded_artifacts,
    resolve_artifact,
)
from opensearch_pretrained_haystack.artifacts.unpack import read_member
from opensearch_pretrained_haystack.errors import ArtifactFormatError, ModelInputError
from opensearch_pretrained_haystack.inference.tokenizer import truncation_length

TOKENIZER_FILE = "tokenizer.json"
IDF_FILE = "idf.json"
SPARSE_FORMAT = "TORCH_SCRIPT"
# A query tokenizer's files are a few MB; more means the zip is not what it claims to be.
_MAX_MEMBER_BYTES = 200_000_000


def resolve_sparse_artifact(
    model: ModelSource,
    version: str | None = None,
    *,
    mirror: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress_bar: bool = True,
) -> ModelArtifact:
    """``resolve_artifact`` for the sparse family, whose artifacts are all TORCH_SCRIPT zips."""
    return resolve_artifact(
        model, version, model_format=SPARSE_FORMAT, mirror=mirror, cache_dir=cache_dir, progress_bar=progress_bar
    )


def read_zip_member(zip_path: Path, name: str) -> bytes:
    """
    One file of a verified artifact zip, read into memory (nothing is unpacked to disk).

    Read after the checks every zip passes (``read_member``).
    """
    return read_member(zip_path, name, limit=_MAX_MEMBER_BYTES)


class SparseVocabulary:
    """Token strings ↔ vocabulary ids, by the canonical rule of the module docstring."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        size = tokenizer.get_vocab_size(with_added_tokens=True)
        decoded = tokenizer.decode_batch([[i] for i in range(size)], skip_special_tokens=True)
        self.tokens: list[str] = decoded
        """``tokens[id]``: the string id decodes to alone ("" for special tokens)."""
        self.ids: dict[str, int] = {}
        for index, token in enumerate(decoded):
            if token:
                self.ids.setdefault(token, index)

    def to_sparse_embedding(self, weights: Mapping[str, float], *, source: str = "the map") -> SparseEmbedding:
        """``{token: weight}`` (the cluster's or ours) as a ``SparseEmbedding`` with indices in ascending order."""
        try:
            pairs = sorted((self.ids[token], float(weight)) for token, weight in weights.items())
        except KeyError as missing:
            msg = (
                f"{source} has the token {missing.args[0]!r}, which this vocabulary cannot decode to: the tokenizer "
                "given as vocabulary is not the model's (use the catalog's `vocabulary` alias for the model)."
            )
            raise ModelInputError(msg) from None
        return SparseEmbedding(indices=[i for i, _ in pairs], values=[v for _, v in pairs])

    def to_token_weights(self, embedding: SparseEmbedding) -> dict[str, float]:
        """The ``{token: weight}`` map OpenSearch wants (``rank_features`` documents, ``query_tokens``)."""
        weights: dict[str, float] = {}
        for index, value in zip(embedding.indices, embedding.values, strict=True):
            token = self.tokens[index] if 0 <= index < len(self.tokens) else ""
            if not token:
                msg = f"SparseEmbedding index {index} is not a non-special token of this vocabulary."
                raise ModelInputError(msg)
            weights[token] = float(value)
        return weights


def load_vocabulary(
    model: str,
    version: str | None = None,
    *,
    mirror: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress_bar: bool = True,
) -> SparseVocabulary:
    """
    The vocabulary of any sparse artifact (encoder or tokenizer) from its ``tokenizer.json``.

    A query tokenizer is the light way to get it: ``opensearch-neural-sparse-tokenizer-v1`` (about 1 MB) has the
    vocabulary of every English catalog model (see the catalog's ``vocabulary`` field).
    """
    artifact = resolve_sparse_artifact(model, version, mirror=mirror, cache_dir=cache_dir, progress_bar=progress_bar)
    return vocabulary_of(artifact)


def vocabulary_of(artifact: ModelArtifact) -> SparseVocabulary:
    """The vocabulary of a sparse artifact already resolved."""
    return SparseVocabulary(Tokenizer.from_str(read_zip_member(artifact.zip_path, TOKENIZER_FILE).decode("utf-8")))


def shared_vocabulary(artifact: ModelArtifact) -> Lease[SparseVocabulary]:
    """
    The process's one vocabulary of this artifact, on the cache of loaded artifacts.

    Keyed by content, so two spellings of one model share it; release the lease when done.
    """
    return loaded_artifacts.acquire("sparse-vocabulary", artifact, vocabulary_of)


class VocabularyShare:
    """
    A component's share of a sparse artifact's vocabulary (see `shared_vocabulary`).

    It is fetched and loaded at the first `load`, and given back at `release` (the next `load` takes it again).
    """

    def __init__(self, model: ModelSource, version: str | None, *, mirror: str | None, cache_dir: str | None) -> None:
        self.vocabulary: SparseVocabulary | None = None
        """None until the first `load`, and again after `release`."""
        self._source = (model, version, mirror, cache_dir)
        self._lease: Lease[SparseVocabulary] | None = None

    def load(self) -> SparseVocabulary:
        """The vocabulary, loaded (or shared) on the first call."""
        if self.vocabulary is None:
            model, version, mirror, cache_dir = self._source
            self._lease = shared_vocabulary(resolve_sparse_artifact(model, version, mirror=mirror, cache_dir=cache_dir))
            self.vocabulary = self._lease.value
        return self.vocabulary

    def release(self) -> None:
        """Give the vocabulary back; safe to call twice."""
        if self._lease is not None:
            self._lease.release()
        self.vocabulary, self._lease = None, None


class SparseTokenizer:
    """
    SPARSE_TOKENIZE as the node computes it, from a query-tokenizer artifact.

    Usage example:
    ```python
    tokenizer = SparseTokenizer("opensearch-neural-sparse-tokenizer-v1")
    tokenizer.encode(["What is OpenSearch?"])  # [{"what": 2.4, "is": 1.1, "opensearch": 7.9, "?": 0.3}]
    ```
    """

    def __init__(
        self,
        model: str,
        version: str | None = None,
        *,
        mirror: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        progress_bar: bool = True,
    ) -> None:
        artifact = resolve_sparse_artifact(
            model, version, mirror=mirror, cache_dir=cache_dir, progress_bar=progress_bar
        )
        self._load(artifact)

    @classmethod
    def from_artifact(cls, artifact: ModelArtifact) -> SparseTokenizer:
        """Build from an artifact already fetched or loaded (see ``artifacts``)."""
        tokenizer = cls.__new__(cls)
        tokenizer._load(artifact)
        return tokenizer

    def _load(self, artifact: ModelArtifact) -> None:
        task = artifact.config.get("model_task_type") or artifact.config.get("function_name")
        if task != "SPARSE_TOKENIZE":
            msg = (
                f"{artifact.zip_path} is a {task} model, not SPARSE_TOKENIZE: only query tokenizers run locally "
                "without torch; let the cluster encode with it (OpenSearchMLSparse*Embedder)."
            )
            raise ArtifactFormatError(msg)
        tokenizer_json = read_zip_member(artifact.zip_path, TOKENIZER_FILE)
        idf = _idf_table(read_zip_member(artifact.zip_path, IDF_FILE), artifact.zip_path)
        self.name, self.version = artifact.name, artifact.version
        try:
            self.max_length = truncation_length(json.loads(tokenizer_json), {})
            self._tokenizer = Tokenizer.from_str(tokenizer_json.decode("utf-8"))
        except Exception as error:  # tokenizers raises a bare Exception for a malformed file
            raise ArtifactFormatError(f"{artifact.zip_path}: {TOKENIZER_FILE} is not a tokenizer ({error}).") from None
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=self.max_length)
        self.vocabulary = SparseVocabulary(self._tokenizer)
        # The node holds idf as Java floats: round once here so weights are the node's to the last bit.
        weights = np.asarray(list(idf.values()), dtype=np.float32).tolist()
        idf32 = dict(zip(idf, weights, strict=True))
        self._weight_of_id = [idf32.get(token, 1.0) if token else 0.0 for token in self.vocabulary.tokens]

    def encode(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """The node's ``{token: weight}`` map for each text (``{}`` for blank or specials-only texts)."""
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                msg = f"Text {index} is {type(text).__name__}, not str: SparseTokenizer encodes strings only."
                raise ModelInputError(msg)
        tokens, weight_of = self.vocabulary.tokens, self._weight_of_id
        return [
            {tokens[i]: weight_of[i] for i in dict.fromkeys(encoding.ids) if tokens[i]}
            for encoding in self._tokenizer.encode_batch(list(texts))
        ]

    def encode_sparse(self, texts: Sequence[str]) -> list[SparseEmbedding]:
        """``encode`` as Haystack ``SparseEmbedding``s (indices by ``SparseVocabulary``'s rule)."""
        return [self.vocabulary.to_sparse_embedding(weights) for weights in self.encode(texts)]


def shared_sparse_tokenizer(artifact: ModelArtifact) -> Lease[SparseTokenizer]:
    """
    The process's one ``SparseTokenizer`` of this artifact, on the cache of loaded artifacts.

    Release the lease when done.
    """
    return loaded_artifacts.acquire("sparse-tokenizer", artifact, SparseTokenizer.from_artifact)


def _idf_table(data: bytes, zip_path: Path) -> dict[str, float]:
    """idf.json as token weights: a JSON object of finite numbers, as the node reads it."""
    try:
        idf = json.loads(data)
    except (UnicodeDecodeError, ValueError) as error:
        raise ArtifactFormatError(f"{zip_path}: {IDF_FILE} is not JSON ({error}).") from None
    if not isinstance(idf, dict) or not all(
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        for value in idf.values()
    ):
        raise ArtifactFormatError(f"{zip_path}: {IDF_FILE} must be a JSON object of token: finite number weights.")
    return idf
