"""
``LocalTorchScriptCrossEncoder``.

The cluster's TEXT_SIMILARITY scores of a TORCH_SCRIPT cross-encoder artifact, computed on this machine (the ``torch``
extra).

The traced graph takes ``input_ids, attention_mask, token_type_ids`` as positional tensors and returns its
``logits``; ML Commons feeds it one pair per inference, tokenized as for ONNX (see ``cross_encoder``), and returns
the raw logit.
"""

from __future__ import annotations

from typing import Unpack

import numpy as np

from opensearch_pretrained_haystack.artifacts import ModelSource, loaded_artifacts
from opensearch_pretrained_haystack.families.text_similarity import FAMILY, PAIR_INPUTS
from opensearch_pretrained_haystack.inference.cross_encoder import CrossEncoderRunner, pair_tokenizer
from opensearch_pretrained_haystack.inference.torchscript import LoadOptions, ScriptEngine, load_torch_script

ENGINE = ScriptEngine(
    task_type=FAMILY.task_type,
    inputs=PAIR_INPUTS,
    takes_dict=False,
    receiver="a TEXT_SIMILARITY model",
    thread_name_prefix="torchscript-rerank",
    hint=" (embedding models run in LocalTorchScriptEmbedder)",
)


class LocalTorchScriptCrossEncoder(CrossEncoderRunner):
    """
    Scores (query, document) pairs with a TORCH_SCRIPT cross-encoder artifact exactly as ML Commons would.

    Usage example:
    ```python
    encoder = LocalTorchScriptCrossEncoder("ms-marco-MiniLM-L-6-v2", version="1.0.2")
    logits = encoder.score("what is opensearch?", ["OpenSearch is a search engine.", "Bananas are yellow."])
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
            tokenizer=lambda artifact: loaded_artifacts.acquire("pair-tokenizer", artifact, pair_tokenizer),
            **options,
        )
        self.artifact, self.version = artifact, artifact.version
        self.tokenizer, self.max_tokens = self._tokenizer_lease.value

    def _logits(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        outputs = self._script(feeds)
        return outputs["logits"] if "logits" in outputs else next(iter(outputs.values()))
