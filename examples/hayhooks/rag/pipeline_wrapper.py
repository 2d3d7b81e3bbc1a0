"""
Hayhooks: the RAG prototype's pipeline (`examples/rag_prototype.py`) over the embedded store (``POST /rag/run``).

Without ``OPENSEARCH_PRETRAINED_GENERATOR`` (a Haystack chat generator class, e.g.
``haystack.components.generators.chat.OpenAIChatGenerator``) it answers with the prompt it built; with one, with the
generator's answer too.
"""

from __future__ import annotations

import os
from typing import Any

from hayhooks import BasePipelineWrapper

from opensearch_pretrained_haystack.app import serving


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        """Build the RAG pipeline once, when Hayhooks loads the wrapper."""
        generator = serving.load_generator(os.environ.get("OPENSEARCH_PRETRAINED_GENERATOR"))
        self.pipeline = serving.rag_pipeline(serving.search_pipeline("hybrid"), generator)

    def run_api(self, question: str) -> dict[str, Any]:
        """
        Retrieve passages for ``question`` and build the prompt (and answer, with a generator).

        :param question: The user's question.
        :returns: ``documents`` (the retrieved source documents), ``prompt`` and ``answers``.
        """
        result = serving.run(self.pipeline, question, {"prompt_builder": {"question": question}})
        return {
            "documents": serving.as_json(result["collapser"]["documents"]),
            "prompt": result["prompt_builder"]["prompt"][0].text,
            "answers": [reply.text for reply in result.get("generator", {}).get("replies", [])],
        }
