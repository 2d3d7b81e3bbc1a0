"""The adapter is the one place that reads opensearch-haystack's internals: fail loudly if they change."""

from importlib.metadata import version

from haystack import Document
from haystack_integrations.document_stores.opensearch import OpenSearchDocumentStore

from opensearch_pretrained_haystack.cluster import document_store as adapter


def test_the_installed_opensearch_haystack_has_every_internal_the_adapter_reads():
    major = int(version("opensearch-haystack").split(".")[0])
    assert major == 9, f"opensearch-haystack {version('opensearch-haystack')} is outside {adapter.SUPPORTED_VERSIONS}"
    store = OpenSearchDocumentStore(hosts="http://localhost:1", index="docs", return_embedding=True)
    adapter.check_internals(store)  # raises naming what is missing
    assert adapter.index_name(store) == "docs" and adapter.returns_embeddings(store)
    assert adapter.nested_fields(store) == set()
    hit = {"_id": "a", "_score": 0.5, "_source": {"id": "a", "content": "x", "embedding": [1.0]}}
    assert adapter.hits_to_documents([hit]) == [Document(id="a", content="x", score=0.5, embedding=[1.0])]
    adapter.verify_by_default(store)
    assert store._verify_certs is True  # opensearch-haystack's None meant "not verified"
    off = OpenSearchDocumentStore(hosts="http://localhost:1", verify_certs=False)
    adapter.verify_by_default(off)
    assert off._verify_certs is False


def test_pyproject_bounds_opensearch_haystack_like_the_adapter():
    from pathlib import Path

    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert f'"opensearch-haystack{adapter.SUPPORTED_VERSIONS}"' in pyproject


def test_no_other_module_reads_the_stores_internals():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"\.(" + "|".join(adapter.INTERNALS) + r")\b")
    readers = [
        str(path.relative_to(root))
        for folder in ("opensearch_pretrained_haystack", "haystack_integrations")
        for path in (root / folder).rglob("*.py")
        if path.name != "document_store.py"
        and any("store" in line and pattern.search(line) for line in path.read_text().splitlines())
    ]
    assert readers == []
