"""``LocalSemanticHighlighter``: the semantic sentence highlighter's TorchScript artifact run on this machine."""

from __future__ import annotations

import asyncio
from typing import Any

from haystack import Document, component, default_from_dict

from haystack_integrations.components.extractors.opensearch_pretrained._highlights import output, prepare
from opensearch_pretrained_haystack.artifacts import Lease
from opensearch_pretrained_haystack.errors import ModelInputError
from opensearch_pretrained_haystack.families.sentence_highlighting import (
    FAMILY,
    MODEL_TYPE,
    config_is_sentence_highlighter,
)
from opensearch_pretrained_haystack.highlighting.local import TorchScriptHighlighter
from opensearch_pretrained_haystack.inference.torchscript import ScriptModel, resolve_torch_script, shared_script_model
from opensearch_pretrained_haystack.serialization import init_parameters_to_dict


@component
class LocalSemanticHighlighter:
    """
    Highlights, in each document, the sentences that answer the query, with a locally run highlighter.

    The highlighter is OpenSearch's semantic sentence highlighter (TorchScript on CPU; needs the ``torch`` extra), run
    as ML Commons 3.x runs it.

    The output is ``OpenSearchMLSemanticHighlighter``'s: the same documents as new objects with
    ``semantic_highlights`` (``text``, ``start``, ``end``, ``position``; offsets are Python indices into
    ``content``) and ``semantic_highlight`` in their meta, and the same sentences for every document the cluster
    answers. Where the cluster fails (HTTP 500 on long punctuation-rich or unspaced text, whose token-to-sentence
    map loses a whole chunk) it still answers, mapping tokens to sentences by their character offsets. Documents
    without content come back unchanged and counted.

    Usage example:
    ```python
    from haystack import Document
    from haystack_integrations.components.extractors.opensearch_pretrained import LocalSemanticHighlighter

    highlighter = LocalSemanticHighlighter(model="opensearch-semantic-highlighter-v1")
    result = highlighter.run(query="Where do the men play?",
                             documents=[Document(content="The men play on the beach. The sun is bright.")])
    result["documents"][0].meta["semantic_highlights"]  # [{"text": ..., "start": 0, "end": 26, "position": 0}]
    ```
    """

    def __init__(
        self,
        *,
        model: str = "opensearch-semantic-highlighter-v1",
        version: str | None = None,
        mirror: str | None = None,
        cache_dir: str | None = None,
        workers: int = 1,
        progress_bar: bool = True,
    ) -> None:
        """
        Create the component; the model is loaded at ``warm_up``, not here.

        :param model: The catalog highlighter's name or alias, or a directory with a custom highlighter zip and its
            ``config.json`` (QUESTION_ANSWERING, model_type sentence_highlighting, TORCH_SCRIPT).
        :param version: The catalog version; ``None`` takes the newest.
        :param mirror: A directory or URL laid out like the artifacts site, for offline or air-gapped machines.
        :param cache_dir: Where verified artifacts are kept (default: ``$OPENSEARCH_PRETRAINED_CACHE`` or the user
            cache).
        :param workers: Model calls run at once, one thread each (the model is traced for one chunk per call); more
            than 1 pays only with idle cores (on a busy 2-core machine 2 workers were slower, benchmarks/).
        :param progress_bar: Show a progress bar while the model is downloaded.
        """
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}.")
        self.model = model
        self.version = version
        self.mirror = mirror
        self.cache_dir = cache_dir
        self.workers = workers
        self.progress_bar = progress_bar
        self._lease: Lease[ScriptModel] | None = None
        self._highlighter: TorchScriptHighlighter | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component: its ``__init__`` parameters."""
        return init_parameters_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LocalSemanticHighlighter:
        """Deserialize the component."""
        return default_from_dict(cls, data)

    def warm_up(self) -> None:
        """
        Fetch (or open) and verify the artifact and load the model; calling it again does nothing.

        The model is shared with every other user of the same artifact in this process.
        """
        if self._lease is None:
            artifact = resolve_torch_script(
                self.model,
                self.version,
                owner=type(self).__name__,
                task_type=FAMILY.task_type,
                hint=" (the semantic sentence highlighter)",
                mirror=self.mirror,
                cache_dir=self.cache_dir,
                progress_bar=self.progress_bar,
            )
            if not config_is_sentence_highlighter(artifact.config):
                raise ModelInputError(
                    f"{artifact.name} is a QUESTION_ANSWERING model of model_type {artifact.model_type!r}; "
                    f"{type(self).__name__} runs model_type {MODEL_TYPE!r} (the semantic sentence highlighter)."
                )
            self._lease = shared_script_model(artifact)
            self._highlighter = TorchScriptHighlighter(artifact, self._lease.value, workers=self.workers)

    def close(self) -> None:
        """Release this component's share of the model (memory is freed when no component holds it)."""
        if self._highlighter is not None:
            self._highlighter.close()
        if self._lease is not None:
            self._lease.release()
            self._lease, self._highlighter = None, None

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    def run(self, query: str, documents: list[Document]) -> dict[str, Any]:
        """
        Highlight the sentences of each document that answer the query.

        :param query: The question.
        :param documents: The documents; they are not modified.
        :returns: ``documents``: new objects with the highlights in their meta, in input order; ``meta``: ``model``
            and the counts of highlighted and content-less documents (``documents_failed`` is always 0).
        :raises ValueError: If the query is empty or too long for 512-token chunks with stride 128.
        """
        prepared = prepare(type(self).__name__, "OpenSearchMLSemanticHighlighter", query, documents)
        self.warm_up()
        assert self._highlighter is not None
        answers = self._highlighter.highlight(query, prepared.contexts)
        return output(
            prepared,
            {i: answer.sentences for i, answer in zip(prepared.positions, answers, strict=True)},
            {"model": self._highlighter.name},
        )

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    async def run_async(self, query: str, documents: list[Document]) -> dict[str, Any]:
        """
        Like ``run``, in a worker thread so the event loop stays free.

        :param query: The question.
        :param documents: The documents; they are not modified.
        :returns: ``documents``: new objects with the highlights in their meta, in input order; ``meta``: ``model``
            and the counts of highlighted and content-less documents (``documents_failed`` is always 0).
        :raises ValueError: If the query is empty or too long for 512-token chunks with stride 128.
        """
        return await asyncio.to_thread(self.run, query, documents)
