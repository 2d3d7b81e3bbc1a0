"""Two models' vectors never share a store or an index, even when they have the same size (issue 17, item 1-2).

The second model is the mirror's all-MiniLM-L6-v2 1.0.1 published under another catalog name, all-MiniLM-L12-v2
1.0.1: the same dimension (384), space (l2), pooling, normalization and truncation, so only the model's identity
tells them apart.
"""

import shutil

import pytest
from haystack import Document
from opensearchpy import OpenSearch

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from opensearch_pretrained_haystack.app.batch import Target, index_sources
from opensearch_pretrained_haystack.app.cli.main import main
from opensearch_pretrained_haystack.catalog import get_model
from opensearch_pretrained_haystack.compatibility import IndexMismatchError
from opensearch_pretrained_haystack.indices.knn import document_store_for
from tests.conftest import MIRROR

L6 = get_model("all-MiniLM-L6-v2", "1.0.1")
L12 = get_model("all-MiniLM-L12-v2", "1.0.1")
_SITE = "models/ml-models"


@pytest.fixture(scope="module")
def relabelled_mirror(tmp_path_factory):
    """A mirror holding all-MiniLM-L6-v2 1.0.1 and the same artifact again as all-MiniLM-L12-v2 1.0.1."""
    assert (L6.dimension, L6.space_type, L6.pooling_mode, L6.normalize, L6.max_tokens) == (
        L12.dimension, L12.space_type, L12.pooling_mode, L12.normalize, L12.max_tokens,
    )  # fmt: skip
    root = tmp_path_factory.mktemp("relabelled-mirror")
    for model in (L6, L12):
        source = MIRROR / _SITE / L6.artifact_path("ONNX")
        copy = root / _SITE / model.artifact_path("ONNX")
        copy.parent.mkdir(parents=True)
        copy.symlink_to(source)
        shutil.copy(source.with_name("config.json"), copy.with_name("config.json"))
    return root


@pytest.fixture
def l6_store(relabelled_mirror, tmp_path, monkeypatch):
    """A store indexed by the CLI with all-MiniLM-L6-v2 1.0.1, read from the relabelled mirror."""
    monkeypatch.setenv("OPENSEARCH_PRETRAINED_MIRROR", str(relabelled_mirror))
    (tmp_path / "a.txt").write_text("Tomatoes grow in the garden.")
    (tmp_path / "b.txt").write_text("OpenSearch runs k-NN search.")
    store = tmp_path / "s.sqlite"
    assert main(["index", str(tmp_path / "a.txt"), "--store", str(store), "--model-version", "1.0.1"]) == 0
    return store


def _count(store):
    with_reader = SQLiteDocumentStore(path=str(store))
    try:
        return with_reader.count_documents()
    finally:
        with_reader.close()


def test_index_and_search_refuse_a_same_size_model_of_another_name(l6_store, tmp_path, capsys):
    capsys.readouterr()
    other = ["--model", "all-MiniLM-L12-v2", "--model-version", "1.0.1"]
    assert main(["index", str(tmp_path / "b.txt"), "--store", str(l6_store), *other]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "all-MiniLM-L6-v2 1.0.1" in err and "all-MiniLM-L12-v2 1.0.1" in err
    assert main(["search", "garden", "--store", str(l6_store), *other]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "all-MiniLM-L6-v2 1.0.1" in err and "all-MiniLM-L12-v2 1.0.1" in err
    assert _count(l6_store) == 1


def test_the_python_store_refuses_a_same_size_model_of_another_name(l6_store):
    store = SQLiteDocumentStore(path=str(l6_store), model="all-MiniLM-L12-v2", version="1.0.1")
    with pytest.raises(IndexMismatchError, match=r"all-MiniLM-L6-v2 1\.0\.1, not .*all-MiniLM-L12-v2 1\.0\.1"):
        store.write_documents([Document(content="x", embedding=[0.1] * 384)])
    assert _count(l6_store) == 1


def test_another_version_of_the_same_model_is_refused(l6_store, tmp_path, capsys):
    store = SQLiteDocumentStore(path=str(l6_store), model="all-MiniLM-L6-v2", version="1.0.2")
    with pytest.raises(IndexMismatchError, match=r"version '1\.0\.1' vs '1\.0\.2'"):
        store.count_documents()
    assert main(["index", str(tmp_path / "b.txt"), "--store", str(l6_store), "--model-version", "1.0.2"]) == 2
    assert "--model-version 1.0.2: store" in capsys.readouterr().err
    assert _count(l6_store) == 1


def test_the_store_model_is_used_when_none_is_given(l6_store, capsys):
    """The store records 1.0.1; without flags search uses it (the default model's newest version, 1.0.2, is not
    in the mirror, so asking for it would fail)."""
    capsys.readouterr()
    assert main(["search", "tomatoes", "--store", str(l6_store)]) == 0
    assert "Tomatoes" in capsys.readouterr().out
    store = SQLiteDocumentStore(path=str(l6_store), model="all-MiniLM-L6-v2")  # no version: the recorded one
    assert store.count_documents() == 1


def test_a_model_that_cannot_be_had_leaves_no_store_behind(relabelled_mirror, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENSEARCH_PRETRAINED_MIRROR", str(relabelled_mirror))
    (tmp_path / "a.txt").write_text("hello")
    store = tmp_path / "s.sqlite"
    assert main(["index", str(tmp_path / "a.txt"), "--store", str(store)]) != 0  # 1.0.2 is not in the mirror
    assert "error:" in capsys.readouterr().err
    assert not store.exists() and not list(tmp_path.glob("s.sqlite*"))


@pytest.mark.integration
def test_an_opensearch_index_refuses_a_same_size_model_of_another_name(
    relabelled_mirror, opensearch_url, index_name, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("OPENSEARCH_PRETRAINED_MIRROR", str(relabelled_mirror))
    (tmp_path / "a.txt").write_text("Tomatoes grow in the garden.")
    target = Target(hosts=opensearch_url, index=index_name)
    assert index_sources([tmp_path / "a.txt"], target, L6, progress_bar=False).passages_written == 1
    client = OpenSearch(hosts=opensearch_url)
    client.indices.refresh(index=index_name)
    mapping = client.indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert mapping["_meta"]["opensearch_pretrained_model"]["name"] == L6.name
    (tmp_path / "b.txt").write_text("OpenSearch runs k-NN search.")
    with pytest.raises(IndexMismatchError, match=r"all-MiniLM-L6-v2 1\.0\.1, not .*all-MiniLM-L12-v2 1\.0\.1"):
        index_sources([tmp_path / "b.txt"], target, L12, progress_bar=False)
    args = ["--opensearch", opensearch_url, "--index", index_name, "--model", "all-MiniLM-L12-v2"]
    capsys.readouterr()
    assert main(["index", str(tmp_path / "b.txt"), *args, "--model-version", "1.0.1"]) == 2
    assert main(["search", "garden", *args, "--model-version", "1.0.1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and err.count("all-MiniLM-L12-v2 1.0.1") == 2
    with pytest.raises(IndexMismatchError):
        document_store_for(L12, opensearch_url, index_name, create_index=False)
    client.indices.refresh(index=index_name)
    assert client.count(index=index_name)["count"] == 1
    # Without flags, search uses the index's model (the default's newest version, 1.0.2, is not in the mirror).
    assert main(["search", "garden", "--opensearch", opensearch_url, "--index", index_name]) == 0
    assert "Tomatoes" in capsys.readouterr().out


@pytest.mark.integration
def test_an_index_without_a_model_record_is_accepted_with_one_warning(opensearch_url, index_name, caplog):
    client = OpenSearch(hosts=opensearch_url)
    method = {"name": "hnsw", "engine": "lucene", "space_type": "l2"}
    mappings = {"properties": {"embedding": {"type": "knn_vector", "dimension": 384, "method": method}}}
    client.indices.create(
        index=index_name, body={"settings": {"index.knn": True, "number_of_replicas": 0}, "mappings": mappings}
    )
    document_store_for(L6, opensearch_url, index_name).close()
    warnings = [r.getMessage() for r in caplog.records if "records no model" in r.getMessage()]
    assert len(warnings) == 1 and index_name in warnings[0] and "all-MiniLM-L6-v2 1.0.1" in warnings[0]
