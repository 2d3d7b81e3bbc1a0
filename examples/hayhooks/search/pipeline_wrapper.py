"""
Hayhooks: the package's query pipelines over the embedded store, one REST endpoint (``POST /search/run``).

hayhooks run --pipelines-dir examples/hayhooks    # then: curl -d '{"query": "..."}' localhost:1416/search/run
"""

from __future__ import annotations

from typing import Any

from hayhooks import BasePipelineWrapper

from opensearch_pretrained_haystack.app import serving


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        """Build one query pipeline per search mode once, when Hayhooks loads the wrapper."""
        self.pipelines = {mode: serving.search_pipeline(mode) for mode in serving.MODES if mode != "rerank"}

    def run_api(self, query: str, mode: str = "hybrid") -> list[dict[str, Any]]:
        """
        Search the embedded store.

        :param query: What to search for.
        :param mode: dense, bm25, hybrid (default), or rerank (hybrid, then the configured cross-encoder).
        :returns: The best source documents, each scored by its best passage.
        """
        if mode not in self.pipelines:
            self.pipelines[mode] = serving.search_pipeline(mode)  # rerank loads its cross-encoder when first asked
        pipeline = self.pipelines[mode]
        return serving.as_json(serving.run(pipeline, query)["collapser"]["documents"])
