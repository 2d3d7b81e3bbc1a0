"""``LocalOnnxEmbedder``: the cluster's ONNX text embedding, computed on this machine.

ML Commons embeds one text per inference; here texts are sorted by length and padded per batch, which is
several times faster and gives the same vectors, because padding is masked out everywhere it could matter.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort

from opensearch_pretrained_haystack.artifacts import ModelArtifact, fetch_artifact, load_artifact, load_model_dir
from opensearch_pretrained_haystack.errors import ModelInputError
from opensearch_pretrained_haystack.inference.pooling import l2_normalize, pooling_for
from opensearch_pretrained_haystack.inference.tokenizer import load_tokenizer

# Measured on 2 cores: runs of about 512 tokens (4 texts of 128) give the most texts per second; larger
# runs lose to cache misses and padding, smaller ones to per-run overhead.
BATCH_TOKENS = 512

# ML Commons adds token_type_ids only for these model types (TextEmbeddingDenseModel / ONNX translator).
_TYPES_WITH_TOKEN_TYPE_IDS = frozenset({"bert", "albert"})


def resolve_artifact(
    model: str,
    version: str | None = None,
    *,
    mirror: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress_bar: bool = True,
) -> ModelArtifact:
    """A catalog name or alias, a directory holding a model zip and its config.json, or a path to such a zip."""
    path = Path(model).expanduser()
    if path.is_dir():
        return load_model_dir(path, cache_dir=cache_dir)
    if path.suffix == ".zip" and path.is_file():
        return load_artifact(path, cache_dir=cache_dir)
    return fetch_artifact(model, version, "ONNX", mirror=mirror, cache_dir=cache_dir, progress_bar=progress_bar)


class LocalOnnxEmbedder:
    """Embeds texts with a pretrained (or custom) ONNX artifact exactly as ML Commons would.

    Usage example:
    ```python
    embedder = LocalOnnxEmbedder("all-MiniLM-L6-v2", version="1.0.1")
    vectors = embedder.embed(["OpenSearch is a search engine."])  # float32, shape (1, 384)
    ```
    """

    def __init__(
        self,
        model: str,
        version: str | None = None,
        *,
        mirror: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        providers: Sequence[str] | None = None,
        threads: int | None = None,
        progress_bar: bool = True,
    ) -> None:
        artifact = resolve_artifact(model, version, mirror=mirror, cache_dir=cache_dir, progress_bar=progress_bar)
        self._load(artifact, providers, threads)

    @classmethod
    def from_artifact(
        cls, artifact: ModelArtifact, *, providers: Sequence[str] | None = None, threads: int | None = None
    ) -> LocalOnnxEmbedder:
        """Build from an artifact already fetched or loaded (see ``artifacts``)."""
        embedder = cls.__new__(cls)
        embedder._load(artifact, providers, threads)
        return embedder

    def _load(self, artifact: ModelArtifact, providers: Sequence[str] | None, threads: int | None) -> None:
        if artifact.model_format != "ONNX":
            raise ModelInputError(
                f"{artifact.name} is a {artifact.model_format} artifact; LocalOnnxEmbedder runs ONNX artifacts only."
            )
        files = artifact.extract()
        config = artifact.model_config
        self.artifact = artifact
        self.name = artifact.name
        self.version = artifact.version
        self.model_type = str(config.get("model_type") or "").lower()
        self.pooling_mode = str(config.get("pooling_mode") or "MEAN").upper()
        self.normalize = bool(config.get("normalize_result", False))
        self._pooling = pooling_for(self.pooling_mode)
        self.tokenizer, self.max_tokens = load_tokenizer(files.tokenizer_file, config)

        # One single-threaded run per worker, several runs at once: onnxruntime releases the GIL, and whole runs
        # parallelize better than the operators inside one small run.
        self._workers = threads or len(os.sched_getaffinity(0))
        self._executor: ThreadPoolExecutor | None = None
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(files.model_file), options, providers=list(providers or ["CPUExecutionProvider"])
        )
        self._input_names = self._check_inputs({i.name for i in self._session.get_inputs()})
        outputs = self._session.get_outputs()
        # ML Commons reads output 0 (token embeddings); only NONE takes output 1 (a pooled output) when there is one.
        self._output_name = outputs[1].name if self.pooling_mode == "NONE" and len(outputs) > 1 else outputs[0].name
        self.dimension = int(config.get("embedding_dimension") or outputs[0].shape[-1])

    def _check_inputs(self, graph_inputs: set[str]) -> tuple[str, ...]:
        expected = ["input_ids", "attention_mask"]
        if self.model_type in _TYPES_WITH_TOKEN_TYPE_IDS:
            expected.append("token_type_ids")
        if graph_inputs != set(expected):
            raise ModelInputError(
                f"{self.name}: the ONNX graph takes {sorted(graph_inputs)}, but ML Commons sends {expected} for "
                f"model_type {self.model_type!r}, so a cluster could not serve this artifact (DJL input mismatch). "
                "Re-export the model with the inputs its tokenizer produces, or fix model_type in config.json."
            )
        return tuple(expected)

    def embed(
        self, texts: Sequence[str], batch_size: int = 32, on_batch: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Embed ``texts`` into a float32 array of shape ``(len(texts), dimension)``, in input order.

        Texts are sorted by length and cut into runs of at most ``batch_size`` texts and about ``BATCH_TOKENS``
        tokens; ``on_batch`` is told how many texts each finished run held (for progress bars).
        """
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"Text {index} is {type(text).__name__}, not str: LocalOnnxEmbedder embeds strings only.")
        result = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return result
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        batches = list(_length_sorted_batches(lengths, max(1, batch_size)))
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._workers, thread_name_prefix="onnx-embed")
        runs = self._executor.map(lambda batch: self._embed_encoded([encodings[i] for i in batch]), batches)
        for batch, vectors in zip(batches, runs):
            result[batch] = vectors
            if on_batch is not None:
                on_batch(len(batch))
        return result

    def count_tokens(self, text: str) -> int:
        """How many tokens of ``text`` the model sees (after truncation, with special tokens)."""
        return len(self.tokenizer.encode(text).ids)

    def _embed_encoded(self, encodings: list) -> np.ndarray:
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


def _length_sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Positions grouped into runs of similar length: little padding, and results go back to input order."""
    batch: list[int] = []
    for position in sorted(range(len(lengths)), key=lengths.__getitem__):
        # Sorted ascending, so the newcomer is the longest: the run's padded size is count * its length.
        if batch and (len(batch) == batch_size or (len(batch) + 1) * lengths[position] > BATCH_TOKENS):
            yield batch
            batch = []
        batch.append(position)
    if batch:
        yield batch
