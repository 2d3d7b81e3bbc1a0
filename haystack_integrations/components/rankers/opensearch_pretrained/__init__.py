"""Turning retrieved passages back into source documents."""

from haystack_integrations.components.rankers.opensearch_pretrained.source_document_collapser import (
    SourceDocumentCollapser,
)

__all__ = ["SourceDocumentCollapser"]
