"""The predict codec: what the node answered, read back into the package's sentences."""

import pytest

from opensearch_pretrained_haystack.cluster import MLCommonsError
from opensearch_pretrained_haystack.cluster.protocol import Call
from opensearch_pretrained_haystack.highlighting.remote import (
    node_response,
    predict_body,
    predict_highlights,
    selected_sentences,
)
from opensearch_pretrained_haystack.highlighting.sentences import segment
from tests.highlighting.fixture import answered


def test_every_node_answer_reads_back_into_the_same_response() -> None:
    for pair in answered():
        selected = selected_sentences(pair["node"]["body"], segment(pair["context"]))
        assert node_response(selected) == pair["node"]["body"], pair["name"]


def test_an_answer_the_segmentation_does_not_produce_is_refused() -> None:
    pair = answered()[1]
    body = pair["node"]["body"]
    highlight = body["inference_results"][0]["output"][0]["dataAsMap"]["highlights"][0]
    shifted = {**highlight, "start": highlight["start"] + 1}
    wrong = {"inference_results": [{"output": [{"name": "highlights", "dataAsMap": {"highlights": [shifted]}}]}]}
    with pytest.raises(MLCommonsError, match="segmentation differs"):
        selected_sentences(wrong, segment(pair["context"]))
    with pytest.raises(MLCommonsError, match="is the model a sentence highlighter"):
        selected_sentences({"inference_results": [{"output": [{"name": "sentence_embedding", "data": [0.1]}]}]}, [])


def test_one_call_per_context_and_a_final_error_stays_with_its_context() -> None:
    pair = answered()[1]
    operation = predict_highlights("m1", "q?", [pair["context"], "second"], timeout=5.0)
    call = next(operation)
    assert isinstance(call, Call) and (call.method, call.path) == ("POST", "/_plugins/_ml/models/m1/_predict")
    assert call.body == predict_body("q?", pair["context"]) == {"question": "q?", "context": pair["context"]}
    operation.send(pair["node"]["body"])
    failure = MLCommonsError("Failed to inference QUESTION_ANSWERING model", status=500)
    with pytest.raises(StopIteration) as done:
        operation.throw(failure)
    first, second = done.value.value
    assert node_response(first) == pair["node"]["body"] and second is failure
