"""The neural sparse family of the catalog (issue 11, item 1)."""

from opensearch_pretrained_haystack.catalog import get_model, list_models

BASE = "https://artifacts.opensearch.org/models/ml-models/amazon/neural-sparse"


def test_the_ten_sparse_artifacts_with_their_task_and_role() -> None:
    sparse = {m.alias: m for m in list_models() if m.family == "neural-sparse"}
    assert len(sparse) == 10
    assert all(m.formats == ("TORCH_SCRIPT",) and m.dimension == 0 for m in sparse.values())
    tokenizers = {a for a, m in sparse.items() if m.task_type == "SPARSE_TOKENIZE"}
    assert tokenizers == {"opensearch-neural-sparse-tokenizer-v1", "opensearch-neural-sparse-tokenizer-multilingual-v1"}
    assert {m.role for a, m in sparse.items() if a in tokenizers} == {"query-tokenizer"}
    assert sum(m.role == "document-encoder" for m in sparse.values()) == 5
    assert sum(m.role == "bi-encoder" for m in sparse.values()) == 3


def test_urls_follow_the_published_rule() -> None:
    model = get_model("opensearch-neural-sparse-encoding-doc-v3-gte")
    assert model.version == "1.0.0"
    assert model.artifact_url("TORCH_SCRIPT") == (
        f"{BASE}/opensearch-neural-sparse-encoding-doc-v3-gte/1.0.0/torch_script/"
        "neural-sparse_opensearch-neural-sparse-encoding-doc-v3-gte-1.0.0-torch_script.zip"
    )


def test_pairings_point_at_catalog_models_of_the_right_kind() -> None:
    for model in (m for m in list_models() if m.family == "neural-sparse"):
        partner = get_model(model.search_with or "")
        assert partner.family == "neural-sparse"
        assert partner.role != "document-encoder"  # the query side is a bi-encoder or a tokenizer
        assert get_model(model.vocabulary or "").task_type == "SPARSE_TOKENIZE"
    recommended = {m.alias for m in list_models() if m.recommended}
    assert recommended == {
        "opensearch-neural-sparse-encoding-v2-distill",
        "opensearch-neural-sparse-encoding-doc-v3-gte",
        "opensearch-neural-sparse-tokenizer-v1",
    }


def test_dense_models_are_unchanged() -> None:
    model = get_model("all-MiniLM-L6-v2", "1.0.1")
    assert (model.family, model.task_type, model.dimension) == ("sentence-transformers", "TEXT_EMBEDDING", 384)
