"""
``LocalTorchScriptEmbedder``: the cluster's TORCH_SCRIPT text embedding, computed on this machine.

A sentence-transformers TorchScript artifact traces the whole model, pooling and normalization included. ML Commons
(``SentenceTransformerTextEmbeddingTranslator``) feeds it ``{"input_ids", "attention_mask"}`` of one text,
tokenized and truncated by the zip's ``tokenizer.json`` as for ONNX, and returns its ``sentence_embedding``
output as is. Here texts run in length-sorted padded batches; the traced pooling masks padding out.
"""

from __future__ import annotations

from typing import Unpack

import numpy as np

from opensearch_pretrained_haystack.artifacts import ModelArtifact, ModelSource
from opensearch_pretrained_haystack.errors import ModelInputError
from opensearch_pretrained_haystack.inference.runner import padded_inputs
from opensearch_pretrained_haystack.inference.text_embedding import TextEmbeddingRunner
from opensearch_pretrained_haystack.inference.tokenizer import TokenIds, shared_tokenizer
from opensearch_pretrained_haystack.inference.torchscript import LoadOptions, ScriptEngine, load_torch_script

INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "sentence_embedding"
FRAMEWORK = "sentence_transformers"
ENGINE = ScriptEngine(
    task_type="TEXT_EMBEDDING",
    inputs=INPUT_NAMES,
    takes_dict=True,
    receiver="a sentence-transformers model",
    thread_name_prefix="torchscript-embed",
)


class LocalTorchScriptEmbedder(TextEmbeddingRunner):
    """
    Embeds texts with a TORCH_SCRIPT sentence-transformers artifact exactly as ML Commons would.

    Needs the ``torch`` extra.

    Usage example:
    ```python
    embedder = LocalTorchScriptEmbedder("distiluse-base-multilingual-cased-v1")
    vectors = embedder.embed(["OpenSearch ist eine Suchmaschine."])  # float32, shape (1, 512)
    embedder.close()
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
            tokenizer=shared_tokenizer,
            check=self._check_framework,
            **options,
        )
        self.artifact: ModelArtifact = artifact
        self.version = artifact.version
        self.model_type = artifact.model_type
        self._take_tokenizer()
        self.dimension = int(artifact.model_config.get("embedding_dimension") or self._probe_dimension())

    def _check_framework(self, artifact: ModelArtifact) -> None:
        framework = str(artifact.model_config.get("framework_type") or FRAMEWORK)
        if framework != FRAMEWORK:
            raise ModelInputError(
                f"{artifact.name}: framework_type {framework!r}; {type(self).__name__} runs the {FRAMEWORK!r} "
                "TorchScript artifacts (pooling inside the graph), which is what the catalog publishes."
            )

    @classmethod
    def from_artifact(cls, artifact: ModelArtifact, *, concurrent_runs: int | None = None) -> LocalTorchScriptEmbedder:
        """Build from an artifact already fetched or loaded; the same as passing it as ``model``."""
        return cls(artifact, concurrent_runs=concurrent_runs)

    def _probe_dimension(self) -> int:
        return int(self._embed_encoded(self._model_tokenizer.encode_batch(["dimension"])).shape[-1])

    def _embed_encoded(self, encodings: list[TokenIds]) -> np.ndarray:
        outputs = self._script(padded_inputs(encodings, INPUT_NAMES))
        if OUTPUT_NAME not in outputs:
            raise ModelInputError(f"{self.name}: the TorchScript graph returns {sorted(outputs)}, no {OUTPUT_NAME!r}.")
        return outputs[OUTPUT_NAME].reshape(len(encodings), -1)
