import json

import pytest
from haystack import Document
from opensearchpy import OpenSearch

from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import PretrainedModelUploader
from haystack_integrations.components.rankers.opensearch_pretrained import LocalOnnxRanker
from opensearch_pretrained_haystack.errors import ModelInputError
from opensearch_pretrained_haystack.indices.rerank import (
    create_rerank_search_pipeline,
    rerank_ext,
    rerank_search_pipeline_body,
)
from tests.conftest import TESTING

TINY = TESTING / "tiny-cross-encoder"
PASSAGES = sorted({p["passage"] for p in json.loads((TINY / "pairs.json").read_text("utf-8")) if p["passage"]})


def test_pipeline_body_is_the_rerank_processor_on_content_by_default():
    assert rerank_search_pipeline_body("m")["response_processors"] == [
        {"rerank": {"ml_opensearch": {"model_id": "m"}, "context": {"document_fields": ["content"]}}}
    ]
    assert rerank_ext("q") == {"rerank": {"query_context": {"query_text": "q"}}}
    with pytest.raises(ValueError, match="document_fields"):
        rerank_search_pipeline_body("m", document_fields="content")


@pytest.mark.integration
def test_the_cluster_reranks_with_the_order_and_scores_of_the_local_ranker(opensearch_url, index_name):
    client = OpenSearch(opensearch_url)
    model_id = PretrainedModelUploader(opensearch_url, str(TINY / "onnx"), source="client").run()["model_id"]
    pipeline_id = f"{index_name}-rerank"
    create_rerank_search_pipeline(client, pipeline_id, model_id)
    try:
        for number, text in enumerate(PASSAGES):
            client.index(index=index_name, id=str(number), body={"content": text})
        client.indices.refresh(index=index_name)
        query = "A man is playing a guitar."
        response = client.search(
            index=index_name,
            params={"search_pipeline": pipeline_id},
            body={"query": {"match_all": {}}, "size": len(PASSAGES), "ext": rerank_ext(query)},
        )
        hits = response["hits"]["hits"]
        local = LocalOnnxRanker(model=str(TINY / "onnx"), top_k=len(PASSAGES)).run(
            query=query, documents=[Document(content=text) for text in PASSAGES]
        )["documents"]
        assert [hit["_source"]["content"] for hit in hits] == [doc.content for doc in local]
        assert max(abs(hit["_score"] - doc.score) for hit, doc in zip(hits, local, strict=True)) <= 1e-5
    finally:
        client.search_pipeline.delete(id=pipeline_id)


@pytest.mark.integration
def test_an_embedding_model_is_refused_with_what_the_processor_needs(opensearch_url, minilm_model_id):
    with pytest.raises(ModelInputError, match="TEXT_SIMILARITY"):
        create_rerank_search_pipeline(OpenSearch(opensearch_url), "never-created", minilm_model_id)
