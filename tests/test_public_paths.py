"""Issue 8: every name the README (of this and earlier releases) imports stays importable from where it says, and
names the same object as its new home."""

import importlib

import pytest

PATHS = [
    ("opensearch_pretrained_haystack.store", "document_store_for", "opensearch_pretrained_haystack.indices.knn"),
    ("opensearch_pretrained_haystack.store", "knn_index_body", "opensearch_pretrained_haystack.indices.knn"),
    ("opensearch_pretrained_haystack.store", "check_index", "opensearch_pretrained_haystack.indices.knn"),
    ("opensearch_pretrained_haystack.neural", "neural_document_store", "opensearch_pretrained_haystack.indices.neural"),
    (
        "opensearch_pretrained_haystack.neural",
        "create_hybrid_search_pipeline",
        "opensearch_pretrained_haystack.indices.neural",
    ),
    ("opensearch_pretrained_haystack.pipelines", "indexing_pipeline", "opensearch_pretrained_haystack.app.pipelines"),
    ("opensearch_pretrained_haystack.pipelines", "query_pipeline", "opensearch_pretrained_haystack.app.pipelines"),
    ("opensearch_pretrained_haystack.cli", "main", "opensearch_pretrained_haystack.app.cli.main"),
]


@pytest.mark.parametrize(("old", "name", "new"), PATHS)
def test_old_public_paths_name_the_same_objects(old: str, name: str, new: str) -> None:
    assert getattr(importlib.import_module(old), name) is getattr(importlib.import_module(new), name)


@pytest.mark.parametrize(
    "name",
    [
        "LocalOnnxEmbedder",
        "OpenSearchMLEmbedder",
        "verify_parity",
        "catalog",
        "fetch_artifact",
        "LocalOnnxTextEmbedder",
    ],
)
def test_top_level_names_of_the_readme_import(name: str) -> None:
    import opensearch_pretrained_haystack

    assert getattr(opensearch_pretrained_haystack, name) is not None
