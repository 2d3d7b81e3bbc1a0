import pytest
from haystack import Document, Pipeline

from haystack_integrations.components.rankers.opensearch_pretrained import SourceDocumentCollapser


def passage(source, split_id, score):
    return Document(content=f"{source}-{split_id}", meta={"source_id": source, "split_id": split_id}, score=score)


def test_a_source_scores_as_its_best_passage():
    passages = [
        passage("a", 0, 0.5),
        passage("b", 0, 0.7),
        passage("a", 1, 0.9),
        Document(id="plain", content="x", score=0.6),
    ]
    result = SourceDocumentCollapser().run(passages)["documents"]
    assert [(d.id, d.score, d.content) for d in result] == [("a", 0.9, "a-1"), ("b", 0.7, "b-0"), ("plain", 0.6, "x")]
    assert result[0].meta["passage_id"] == passages[2].id


def test_top_k_from_init_or_run():
    passages = [passage(s, 0, score) for s, score in [("a", 0.1), ("b", 0.3), ("c", 0.2)]]
    assert [d.id for d in SourceDocumentCollapser(top_k=2).run(passages)["documents"]] == ["b", "c"]
    assert [d.id for d in SourceDocumentCollapser(top_k=2).run(passages, top_k=1)["documents"]] == ["b"]
    assert SourceDocumentCollapser().run([])["documents"] == []
    with pytest.raises(ValueError):
        SourceDocumentCollapser(top_k=0)


def test_yaml_round_trip():
    pipeline = Pipeline()
    pipeline.add_component("collapser", SourceDocumentCollapser(top_k=3))
    assert Pipeline.loads(pipeline.dumps()).get_component("collapser").top_k == 3
