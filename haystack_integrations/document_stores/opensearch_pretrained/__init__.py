"""An embedded document store on SQLite for OpenSearch's pretrained models: dense (exact k-NN), BM25 and hybrid."""

from opensearch_pretrained_haystack.lazy_torch import torch_deferred

with torch_deferred():  # Haystack would import PyTorch (4 s), which the store never uses
    from haystack_integrations.document_stores.opensearch_pretrained.document_store import (
        SQLiteDocumentStore,
        SQLiteStoreError,
        StoreModel,
    )

__all__ = ["SQLiteDocumentStore", "SQLiteStoreError", "StoreModel"]
