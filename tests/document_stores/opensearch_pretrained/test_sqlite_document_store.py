"""The SQLite store against Haystack's own document-store test suite, plus what it adds: the model record,
k-NN scores as OpenSearch reports them, the exact top-k, BM25, and hybrid fusion."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from haystack import Document
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy
from haystack.testing.document_store import (
    CountDocumentsByFilterTest,
    CountUniqueMetadataByFilterTest,
    DocumentStoreBaseExtendedTests,
    GetMetadataFieldMinMaxTest,
    GetMetadataFieldsInfoTest,
    GetMetadataFieldUniqueValuesTest,
)
from haystack.testing.document_store_async import (
    CountDocumentsAsyncTest,
    CountDocumentsByFilterAsyncTest,
    CountUniqueMetadataByFilterAsyncTest,
    DeleteAllAsyncTest,
    DeleteByFilterAsyncTest,
    DeleteDocumentsAsyncTest,
    FilterDocumentsAsyncTest,
    GetMetadataFieldMinMaxAsyncTest,
    GetMetadataFieldsInfoAsyncTest,
    GetMetadataFieldUniqueValuesAsyncTest,
    UpdateByFilterAsyncTest,
    WriteDocumentsAsyncTest,
)

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore, SQLiteStoreError
from haystack_integrations.document_stores.opensearch_pretrained.document_store import _bm25_statements
from opensearch_pretrained_haystack.indices.knn import IndexMismatchError
from opensearch_pretrained_haystack.text_analysis import DEFAULT_ANALYZER, get_analyzer

# 768 dimensions and innerproduct: Haystack's suite writes 768-dimensional random vectors.
SUITE_MODEL = "msmarco-distilbert-base-tas-b"


def _comparable(document: Document) -> tuple[object, ...]:
    vector = None if document.embedding is None else np.asarray(document.embedding, np.float32).tolist()
    return document.id, document.content, document.meta, vector


class TestHaystackSuite(
    DocumentStoreBaseExtendedTests,
    CountDocumentsByFilterTest,
    CountUniqueMetadataByFilterTest,
    GetMetadataFieldsInfoTest,
    GetMetadataFieldMinMaxTest,
    GetMetadataFieldUniqueValuesTest,
    CountDocumentsAsyncTest,
    WriteDocumentsAsyncTest,
    DeleteDocumentsAsyncTest,
    FilterDocumentsAsyncTest,
    DeleteAllAsyncTest,
    DeleteByFilterAsyncTest,
    UpdateByFilterAsyncTest,
    CountDocumentsByFilterAsyncTest,
    CountUniqueMetadataByFilterAsyncTest,
    GetMetadataFieldsInfoAsyncTest,
    GetMetadataFieldMinMaxAsyncTest,
    GetMetadataFieldUniqueValuesAsyncTest,
):
    @pytest.fixture
    def document_store(self, tmp_path):
        store = SQLiteDocumentStore(path=str(tmp_path / "suite.sqlite"), model=SUITE_MODEL)
        store.write_documents([])  # creates the store: reads need an existing one
        yield store
        store.close()

    @staticmethod
    def assert_documents_are_equal(received: list[Document], expected: list[Document]) -> None:
        """Vectors are stored as float32 (as k-NN stores them), so compare them at float32 precision."""
        assert [_comparable(d) for d in received] == [_comparable(d) for d in expected]

    def test_write_documents(self, document_store):
        """The default policy fails on a duplicate and writes nothing of that batch."""
        first, second = Document(content="a"), Document(content="b")
        assert document_store.write_documents([first]) == 1
        with pytest.raises(Exception, match="already stored"):
            document_store.write_documents([second, first])
        assert document_store.filter_documents() == [first]

    async def test_write_documents_async(self, document_store):
        """The same default policy through the thread offload."""
        first, second = Document(content="a"), Document(content="b")
        assert await document_store.write_documents_async([first]) == 1
        with pytest.raises(Exception, match="already stored"):
            await document_store.write_documents_async([second, first])
        assert await document_store.filter_documents_async() == [first]


def _unit_vectors(count: int, dimension: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def store(tmp_path):
    store = SQLiteDocumentStore(path=str(tmp_path / "store.sqlite"), model="all-MiniLM-L6-v2")
    yield store
    store.close()


def test_store_records_its_model_and_refuses_another(tmp_path):
    path = str(tmp_path / "s.sqlite")
    SQLiteDocumentStore(path=path, model="all-MiniLM-L6-v2").write_documents([Document(content="x")])
    reopened = SQLiteDocumentStore(path=path)
    assert (reopened.store_model.dimension, reopened.store_model.space_type) == (384, "l2")
    with pytest.raises(IndexMismatchError, match="768-dimensional"):
        SQLiteDocumentStore(path=path, model="msmarco-distilbert-base-tas-b").count_documents()


def test_refuses_vectors_and_queries_of_another_dimension(store):
    with pytest.raises(IndexMismatchError, match="Nothing was written"):
        store.write_documents([Document(content="ok", embedding=[0.1] * 384), Document(content="x", embedding=[0.1])])
    assert store.count_documents() == 0
    with pytest.raises(IndexMismatchError, match="query embedding has 3 dimensions"):
        store.embedding_retrieval([0.1, 0.2, 0.3])


def test_a_missing_store_without_model_is_an_error_not_an_empty_file(tmp_path):
    with pytest.raises(SQLiteStoreError, match="No store at"):
        SQLiteDocumentStore(path=str(tmp_path / "typo.sqlite")).count_documents()
    assert not (tmp_path / "typo.sqlite").exists()


def test_a_file_that_is_not_a_store_gets_one_clear_error(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("just some text, not a database\n" * 100)
    with pytest.raises(SQLiteStoreError, match="not a store written by opensearch-pretrained"):
        SQLiteDocumentStore(path=str(path)).count_documents()


@pytest.mark.parametrize(("model", "space"), [("all-MiniLM-L6-v2", "l2"), ("paraphrase-MiniLM-L3-v2", "cosinesimil")])
def test_dense_top_k_and_scores_equal_brute_force(tmp_path, model, space):
    vectors = np.random.default_rng(1).standard_normal((3000, 384)).astype(np.float32)  # not unit: norms matter
    store = SQLiteDocumentStore(path=str(tmp_path / "s.sqlite"), model=model)
    documents = [Document(content=f"passage {i}", embedding=v.tolist()) for i, v in enumerate(vectors)]
    store.write_documents(documents)
    query = np.random.default_rng(2).standard_normal(384).astype(np.float32)
    found = store.embedding_retrieval(query.tolist(), top_k=20)

    q, x = query.astype(np.float64), vectors.astype(np.float64)
    if space == "l2":
        expected = 1.0 / (1.0 + ((x - q) ** 2).sum(axis=1))
    else:
        expected = (1.0 + x @ q / (np.linalg.norm(x, axis=1) * np.linalg.norm(q))) / 2.0
    best = np.argsort(-expected)[:20]
    assert [d.id for d in found] == [documents[i].id for i in best]
    assert [d.score for d in found] == pytest.approx(expected[best].tolist(), rel=1e-5)


def test_innerproduct_scores_as_knn_reports_them(tmp_path):
    store = SQLiteDocumentStore(path=str(tmp_path / "s.sqlite"), model="msmarco-distilbert-base-tas-b")
    positive, negative = np.zeros(768), np.zeros(768)
    positive[0], negative[0] = 2.0, -3.0
    store.write_documents(
        [Document(content="p", embedding=positive.tolist()), Document(content="n", embedding=negative.tolist())]
    )
    query = np.zeros(768)
    query[0] = 1.0
    scores = {d.content: d.score for d in store.embedding_retrieval(query.tolist(), top_k=2)}
    assert scores == pytest.approx({"p": 2.0 + 1.0, "n": 1.0 / (1.0 + 3.0)})


def test_dense_search_with_filters_and_after_writes(store):
    vectors = _unit_vectors(500, 384)
    documents = [
        Document(content=f"d{i}", meta={"even": i % 2 == 0}, embedding=v.tolist()) for i, v in enumerate(vectors)
    ]
    store.write_documents(documents[:400])
    query = vectors[450].tolist()
    assert store.embedding_retrieval(query, top_k=1)[0].id != documents[450].id
    store.write_documents(documents[400:])  # the vector file follows
    assert store.embedding_retrieval(query, top_k=1)[0].id == documents[450].id
    odd = store.embedding_retrieval(query, top_k=5, filters={"field": "meta.even", "operator": "==", "value": True})
    assert len(odd) == 5 and all(d.meta["even"] for d in odd)
    store.delete_documents([documents[450].id])
    assert documents[450].id not in {d.id for d in store.embedding_retrieval(query, top_k=5)}


def test_bm25_ranks_the_matching_passage_first_and_quotes_query_syntax(store):
    store.write_documents(
        [Document(content="Vitamin C deficiency causes scurvy."), Document(content="The moon orbits the earth."),
         Document(content="Sailors got scurvy on long voyages without fruit.")]
    )  # fmt: skip
    found = store.bm25_retrieval('what causes "scurvy" AND NOT (', top_k=3)
    assert found[0].content.startswith("Vitamin C")
    assert {d.content for d in found} == {
        "Vitamin C deficiency causes scurvy.",
        "Sailors got scurvy on long voyages without fruit.",
    }
    assert store.bm25_retrieval("   ", top_k=3) == []
    filtered = store.bm25_retrieval(
        "scurvy", top_k=3, filters={"field": "content", "operator": "==", "value": "The moon orbits the earth."}
    )
    assert filtered == []


def test_english_bm25_stems_words_and_leaves_stop_words_out_of_queries(store):
    """The default analyzer: "causes" matches "caused", and a query of stop words alone matches nothing."""
    store.write_documents([Document(content="Scurvy is caused by a lack of vitamins."), Document(content="The moon.")])
    assert store.store_analyzer.name == "english"  # a store is created on its first write (it is read-only before)
    assert [d.content for d in store.bm25_retrieval("what causes scurvy", top_k=3)] == [
        "Scurvy is caused by a lack of vitamins."
    ]
    assert store.bm25_retrieval("vitamin", top_k=3)[0].content.startswith("Scurvy")
    assert store.bm25_retrieval("the of a", top_k=3) == []


def test_a_store_keeps_the_analyzer_it_was_created_with(tmp_path):
    """A store created with the plain analyzer (the layout of stores written before ``english``) is read as it is;
    asking for another analyzer is one clear error, and an unknown one fails at once."""
    path = str(tmp_path / "plain.sqlite")
    plain = SQLiteDocumentStore(path=path, model="all-MiniLM-L6-v2", analyzer="plain")
    plain.write_documents([Document(content="Scurvy is caused by a lack of vitamins.")])
    plain.close()
    reopened = SQLiteDocumentStore(path=path)
    assert reopened.store_analyzer.name == "plain"
    assert reopened.bm25_retrieval("causes", top_k=3) == []  # not stemmed
    assert len(reopened.bm25_retrieval("caused by the", top_k=3)) == 1  # stop words kept
    reopened.close()
    with pytest.raises(SQLiteStoreError, match="analyzes BM25 text as 'plain', not 'english'"):
        SQLiteDocumentStore(path=path, analyzer="english").count_documents()
    with pytest.raises(ValueError, match="Unknown BM25 analyzer 'german'"):
        SQLiteDocumentStore(path=path, analyzer="german")


def test_bm25_reads_the_title_as_a_field_scored_with_the_content_as_one_text(tmp_path):
    """``meta["title"]`` is a BM25 field: a title word finds the passage, and title and content count as one text
    (the scores equal those of the title written in front of the content), as OpenSearch scores ``content`` with
    the title copied in. Overwriting or deleting a passage updates its title's terms."""
    titled = SQLiteDocumentStore(path=str(tmp_path / "titled.sqlite"), model="all-MiniLM-L6-v2")
    joined = SQLiteDocumentStore(path=str(tmp_path / "joined.sqlite"), model="all-MiniLM-L6-v2")
    other = Document(id="b", content="Sailors fear scurvy on long voyages.")
    titled.write_documents([Document(id="a", content="Vitamin C prevents it.", meta={"title": "Scurvy"}), other])
    joined.write_documents([Document(id="a", content="Scurvy Vitamin C prevents it."), other])
    for query in ("scurvy", "vitamin scurvy voyages"):
        found = [(d.id, d.score) for d in titled.bm25_retrieval(query, top_k=5)]
        assert len(found) == 2 and found == [(d.id, d.score) for d in joined.bm25_retrieval(query, top_k=5)]
    titled.write_documents(
        [Document(id="a", content="Vitamin C prevents it.", meta={"title": "Citrus"})], policy=DuplicatePolicy.OVERWRITE
    )
    assert [d.id for d in titled.bm25_retrieval("scurvy", top_k=5)] == ["b"]
    assert [d.id for d in titled.bm25_retrieval("citrus", top_k=5)] == ["a"]
    titled.delete_documents(["a"])
    assert titled.bm25_retrieval("citrus", top_k=5) == []
    titled.close()
    joined.close()


def test_a_store_created_before_the_title_field_keeps_bm25_over_the_content_alone(tmp_path):
    """A store whose FTS5 index has only ``content`` (created before the title field) is written and read with
    that layout's statements: new, overwritten and deleted rows keep the index whole; titles are not indexed."""
    path = tmp_path / "old.sqlite"
    SQLiteDocumentStore(path=str(path), model="all-MiniLM-L6-v2").write_documents([Document(id="a", content="x")])
    connection = sqlite3.connect(path)
    tokenizer = get_analyzer(DEFAULT_ANALYZER).fts5_tokenizer
    content_only = _bm25_statements(titled=False)
    for statement in (
        "DROP TRIGGER documents_ad", "DROP TRIGGER documents_au",
        "DROP TABLE documents_fts", "DROP VIEW documents_bm25",
        f"CREATE VIRTUAL TABLE documents_fts USING fts5(content, content='documents', content_rowid='pk', "
        f"tokenize='{tokenizer}')",
        content_only.delete_trigger, content_only.update_trigger,
        "INSERT INTO documents_fts(documents_fts) VALUES ('rebuild')",
    ):  # fmt: skip
        connection.execute(statement)
    connection.commit()
    connection.close()
    store = SQLiteDocumentStore(path=str(path))
    store.write_documents([Document(id="b", content="scurvy on ships", meta={"title": "Citrus"})])
    store.write_documents(
        [Document(id="a", content="scurvy at sea", meta={"title": "Limes"})], policy=DuplicatePolicy.OVERWRITE
    )
    assert sorted(d.id for d in store.bm25_retrieval("scurvy", top_k=5)) == ["a", "b"]
    assert store.bm25_retrieval("citrus limes", top_k=5) == []
    store.delete_documents(["b"])
    assert [d.id for d in store.bm25_retrieval("scurvy", top_k=5)] == ["a"]
    store.close()
    connection = sqlite3.connect(path)
    connection.execute("INSERT INTO documents_fts(documents_fts) VALUES ('integrity-check')")
    connection.close()


def test_bm25_without_filters_ranks_as_with_a_filter_every_document_passes(store):
    """Unfiltered BM25 reads the FTS5 index alone; filtered BM25 joins the documents: both rank alike, ties by key."""
    words = ["alpha", "beta", "gamma", "delta"]
    store.write_documents(
        [Document(content=" ".join(words[j] for j in range(i % 4 + 1)), meta={"n": i}) for i in range(40)]
    )
    everything = {"field": "meta.n", "operator": ">=", "value": 0}
    unfiltered = store.bm25_retrieval("alpha delta", top_k=25)
    assert [(d.id, d.score) for d in unfiltered] == [
        (d.id, d.score) for d in store.bm25_retrieval("alpha delta", top_k=25, filters=everything)
    ]
    assert unfiltered[0].content == "alpha beta gamma delta" and len(unfiltered) == 25


def test_hybrid_fuses_bm25_and_dense(store):
    vectors = _unit_vectors(3, 384)
    store.write_documents(
        [Document(content="scurvy and vitamin C", embedding=vectors[0].tolist()),
         Document(content="unrelated text", embedding=vectors[1].tolist()),
         Document(content="more unrelated text", embedding=vectors[2].tolist())]
    )  # fmt: skip
    query = (0.8 * vectors[1] + 0.6 * vectors[0]).tolist()  # k-NN order: "unrelated text", then the scurvy one
    keyword_only = store.hybrid_retrieval("scurvy", query, top_k=3, fusion="min_max", bm25_weight=1.0)
    assert keyword_only[0].content == "scurvy and vitamin C"
    dense_only = store.hybrid_retrieval("scurvy", query, top_k=3, fusion="min_max", bm25_weight=0.0)
    assert dense_only[0].content == "unrelated text"
    rrf = store.hybrid_retrieval("scurvy", query, top_k=3, fusion="rrf")
    assert rrf[0].score == pytest.approx(1 / 61 + 1 / 62)  # first in BM25, second in k-NN
    with pytest.raises(ValueError, match="Unknown fusion"):
        store.hybrid_retrieval("scurvy", query, fusion="sum")


def test_hybrid_per_source_fuses_documents_found_through_different_passages(store):
    """Source A is BM25's best through one passage and k-NN's best through another: fused per source it is found
    by both sides (and returned as its best k-NN passage); fused per passage, each passage counts once."""
    vectors = _unit_vectors(3, 384)
    a1, a2, b1 = (
        Document(content="scurvy and vitamin C", meta={"source_id": "A"}, embedding=vectors[0].tolist()),
        Document(content="unrelated text", meta={"source_id": "A"}, embedding=vectors[1].tolist()),
        Document(content="more unrelated text", meta={"source_id": "B"}, embedding=vectors[2].tolist()),
    )
    store.write_documents([a1, a2, b1])
    query = (0.8 * vectors[1] + 0.6 * vectors[2]).tolist()  # k-NN order: a2, b1, a1
    per_source = store.hybrid_retrieval("scurvy", query, top_k=3, fusion="rrf", per_source=True)
    assert [(d.id, d.score) for d in per_source] == [(a2.id, pytest.approx(2 / 61)), (b1.id, pytest.approx(1 / 62))]
    per_passage = store.hybrid_retrieval("scurvy", query, top_k=3, fusion="rrf")
    assert [(d.id, d.score) for d in per_passage] == [
        (a1.id, pytest.approx(1 / 61 + 1 / 63)), (a2.id, pytest.approx(1 / 61)), (b1.id, pytest.approx(1 / 62))
    ]  # fmt: skip


def test_to_dict_from_dict(tmp_path):
    store = SQLiteDocumentStore(path=str(tmp_path / "s.sqlite"), model="all-MiniLM-L6-v2", busy_timeout=5.0)
    data = store.to_dict()
    assert data == {
        "type": "haystack_integrations.document_stores.opensearch_pretrained.document_store.SQLiteDocumentStore",
        "init_parameters": {
            "path": str(tmp_path / "s.sqlite"), "model": "all-MiniLM-L6-v2", "version": None, "space_type": None,
            "busy_timeout": 5.0, "analyzer": None,
        },
    }  # fmt: skip
    assert SQLiteDocumentStore.from_dict(data).to_dict() == data
    assert not (tmp_path / "s.sqlite").exists()  # __init__ and serialization never touch the file


def test_overwrite_skip_counts(store):
    doc = Document(id="1", content="one")
    assert store.write_documents([doc], policy=DuplicatePolicy.SKIP) == 1
    assert store.write_documents([doc, Document(id="2", content="two")], policy=DuplicatePolicy.SKIP) == 1
    assert store.write_documents([Document(id="1", content="uno")], policy=DuplicatePolicy.OVERWRITE) == 1
    assert store.bm25_retrieval("uno")[0].id == "1" and store.bm25_retrieval("one") == []
    assert store.stored_ids(["1", "2", "3"]) == {"1", "2"}


def _twice_in_one_batch() -> list[Document]:
    """One id twice among documents with and without vectors (each vector must land at its own document's row)."""
    vectors = np.random.default_rng(31).standard_normal((4, 384)).astype(np.float32).tolist()
    return [
        Document(id="twice", content="first", embedding=vectors[0]),
        Document(id="text only", content="no vector"),
        Document(id="other", content="other", embedding=vectors[1]),
        Document(id="twice", content="second", embedding=vectors[2]),
        Document(id="last", content="last", embedding=vectors[3]),
    ]


@pytest.mark.parametrize(
    ("policy", "kept"), [(DuplicatePolicy.SKIP, 0), (DuplicatePolicy.OVERWRITE, 3), (DuplicatePolicy.FAIL, None)]
)
def test_an_id_twice_in_one_batch_follows_the_policy_and_every_vector_lands_at_its_document(
    store, policy, kept, assert_exact_dense
):
    store.write_documents([Document(id="before", content="before", embedding=[0.5] * 384)])
    batch = _twice_in_one_batch()
    if kept is None:
        with pytest.raises(DuplicateDocumentError, match="already stored"):
            store.write_documents(batch, policy=policy)
        assert [d.id for d in store.filter_documents()] == ["before"]  # the whole batch rolled back
        return
    assert store.write_documents(batch, policy=policy) == (4 if policy == DuplicatePolicy.SKIP else 5)
    stored = {d.id: d for d in store.filter_documents()}
    expected = {d.id: d for d in batch if d is not batch[3 - kept]}  # the kept one of the two
    assert sorted(stored) == sorted(["before", *expected])
    for doc_id, document in expected.items():
        assert (stored[doc_id].content, stored[doc_id].embedding) == (document.content, document.embedding)
    for seed in (1, 2):
        assert_exact_dense(store, np.random.default_rng(seed).standard_normal(384).tolist())


def test_embeddings_of_python_floats_are_stored_rounded_to_float32_as_numpy_rounds_them(store):
    values = np.random.default_rng(32).standard_normal((3, 384))  # float64: nearly every value needs rounding
    values[0, :6] = [1e-45, -0.0, 3.4028235e38, 1 + 2**-24, 1 + 3 * 2**-24, 7]  # subnormal, -0, max, two ties, an int
    documents = [Document(id=f"f{i}", content="x", embedding=row.tolist()) for i, row in enumerate(values)]
    documents[0].embedding[5] = 7  # type: ignore[index]
    store.write_documents(documents)
    stored = {d.id: np.asarray(d.embedding, np.float32) for d in store.filter_documents()}
    for i, row in enumerate(values):
        assert stored[f"f{i}"].view(np.uint32).tolist() == row.astype(np.float32).view(np.uint32).tolist()


def test_an_embedding_holding_what_is_not_a_number_is_one_clear_error_and_nothing_is_written(store):
    store.write_documents([Document(id="kept", content="kept", embedding=[0.1] * 384)])
    bad = Document(id="bad one", content="y", embedding=[0.1] * 383 + [None])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"^Document bad one has an embedding holding something that is not a number"):
        store.write_documents([Document(id="good", content="x", embedding=[0.2] * 384), bad])
    assert [d.id for d in store.filter_documents()] == ["kept"]


def _varied_documents() -> list[Document]:
    """Meta of every JSON type, None, missing keys and values alike as numbers (1, 1.0, True) or text."""
    metas = [
        {"n": 1, "tag": "Alpha", "mixed": 1, "when": "2024-01-02", "tags": ["a", "b"], "obj": {"x": 1, "y": 2}},
        {"n": 2.5, "tag": "beta", "mixed": "1", "when": "2023-05-01", "tags": ["b", "a"], "obj": {"y": 2, "x": 1}},
        {"n": -3, "tag": "Alpha", "mixed": 1.0, "when": None, "flag": True},
        {"n": True, "tag": None, "mixed": True, "flag": False, "tags": ["a", "b"]},
        {"tag": "gamma ray", "flag": True, "obj": {"x": 1, "y": 2}},
        {},
    ]
    return [Document(id=f"d{i}", content=f"text {i}", meta=meta) for i, meta in enumerate(metas)]


@pytest.mark.parametrize(
    "operation",
    [
        lambda s: s.count_unique_metadata_by_filter({}, ["n", "meta.tag", "mixed", "tags", "obj", "flag", "none"]),
        lambda s: s.count_unique_metadata_by_filter(
            {"field": "meta.flag", "operator": "==", "value": True}, ["tag", "obj"]
        ),
        lambda s: s.get_metadata_fields_info(),
        lambda s: [s.get_metadata_field_min_max(f) for f in ("n", "meta.tag", "mixed", "when", "flag", "tags", "no")],
        lambda s: [s.get_metadata_field_unique_values(f, size=100) for f in ("n", "tag", "mixed", "tags", "obj")],
        lambda s: s.get_metadata_field_unique_values("tag", search_term="AL", from_=0, size=1),
        lambda s: s.get_metadata_field_unique_values("mixed", from_=1, size=2),
        lambda s: s.count_documents_by_filter({"field": "meta.when", "operator": ">", "value": "2023-12-31"}),
    ],
    ids=["unique-counts", "unique-counts-filtered", "fields-info", "min-max", "unique-values", "search-term",
         "pages", "count-dates"],
)  # fmt: skip
def test_metadata_operations_answer_as_haystacks_in_memory_store(store, operation):
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    reference = InMemoryDocumentStore()
    reference.write_documents(_varied_documents())
    store.write_documents(_varied_documents())
    expected, found = operation(reference), operation(store)
    assert found == expected
    assert json.dumps(found, sort_keys=True) == json.dumps(expected, sort_keys=True)  # types too: true, 1, 1.0


@pytest.mark.parametrize(
    ("filters", "meta"),
    [
        ({"field": "meta.tag", "operator": "==", "value": "Alpha"}, {"tag": "Omega", "new": [1, {"k": None}]}),
        ({"field": "meta.when", "operator": "<", "value": "2024-01-01"}, {"n": None, "obj": {"z": 0}}),  # in Python
        ({"operator": "NOT", "conditions": [{"field": "meta.flag", "operator": "==", "value": True}]}, {"flag": 0.5}),
    ],
)
def test_update_by_filter_merges_meta_as_haystack_does(store, filters, meta):
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    reference = InMemoryDocumentStore()
    reference.write_documents(_varied_documents())
    store.write_documents(_varied_documents())
    assert store.update_by_filter(filters, meta) == reference.update_by_filter(filters, meta)
    assert [(d.id, d.meta) for d in store.filter_documents()] == [(d.id, d.meta) for d in reference.filter_documents()]


def test_delete_and_update_by_filter_refuse_an_empty_filter(store):
    store.write_documents([Document(content="kept")])
    with pytest.raises(ValueError, match="delete_by_filter needs filters"):
        store.delete_by_filter({})
    with pytest.raises(ValueError, match="update_by_filter needs filters"):
        store.update_by_filter({}, {"x": 1})
    assert store.count_documents() == 1


def test_filtered_deletes_and_updates_keep_dense_search_exact(store, assert_exact_dense):
    vectors = _unit_vectors(300, 384, seed=3)
    store.write_documents(
        [
            Document(id=f"v{i}", content=f"p {i}", meta={"part": i % 3}, embedding=v.tolist())
            for i, v in enumerate(vectors)
        ]
    )
    query = vectors[7].tolist()
    assert_exact_dense(store, query)
    files = sorted(Path(store.path).parent.glob("*-vector*"))
    before = [path.read_bytes() for path in files]
    assert store.update_by_filter({"field": "meta.part", "operator": "==", "value": 1}, {"part": 4}) == 100
    assert [path.read_bytes() for path in files] == before  # a meta update leaves the vectors as they are
    assert_exact_dense(store, query)
    assert store.delete_by_filter({"field": "meta.part", "operator": "in", "value": [0, 4]}) == 200
    assert_exact_dense(store, query)
    assert {d.meta["part"] for d in store.filter_documents()} == {2}
    store.delete_all_documents(recreate_index=True)
    assert store.count_documents() == 0 and store.embedding_retrieval(query) == []
    assert sum(path.stat().st_size for path in Path(store.path).parent.glob("*-vector*")) <= 2 * 64  # headers


async def test_retrievals_async_equal_the_synchronous_ones(store):
    vectors = _unit_vectors(50, 384, seed=4)
    store.write_documents([Document(content=f"word{i % 5} text", embedding=v.tolist()) for i, v in enumerate(vectors)])
    query = vectors[3].tolist()
    assert await store.embedding_retrieval_async(query, top_k=5) == store.embedding_retrieval(query, top_k=5)
    assert await store.bm25_retrieval_async("word3", top_k=5) == store.bm25_retrieval("word3", top_k=5)
    assert await store.hybrid_retrieval_async("word3", query, top_k=5, fusion="min_max") == store.hybrid_retrieval(
        "word3", query, top_k=5, fusion="min_max"
    )


def test_an_in_filter_with_thousands_of_values_runs_in_sql(store):
    store.write_documents([Document(id=str(i), content="x", meta={"n": i}) for i in range(3000)])
    ids = {"field": "id", "operator": "in", "value": [str(i) for i in range(0, 3000, 2)]}  # was a 1,500-deep OR
    assert store.count_documents_by_filter(ids) == 1500
    numbers = {"field": "meta.n", "operator": "not in", "value": [*range(1000), 1000.0, True, None, "1001"]}
    assert store.count_documents_by_filter(numbers) == 1999  # 1000.0 equals 1000, True equals 1, "1001" is no number
    assert store.delete_by_filter(ids) == 1500 and store.count_documents() == 1500
