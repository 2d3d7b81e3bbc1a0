"""An embedded document store on SQLite for OpenSearch's pretrained models: dense (exact k-NN), BM25 and hybrid."""

from haystack_integrations.document_stores.opensearch_pretrained.document_store import (
    SQLiteDocumentStore,
    SQLiteStoreError,
    StoreModel,
)

__all__ = ["SQLiteDocumentStore", "SQLiteStoreError", "StoreModel"]
