"""Semantic highlights in search hits: the fragments neural-search returned, rebuilt and read back locally."""

from dataclasses import replace
from functools import cache

import pytest

from opensearch_pretrained_haystack.artifacts import load_model_dir
from opensearch_pretrained_haystack.highlighting.local import TorchScriptHighlighter
from opensearch_pretrained_haystack.highlighting.search import fragment, highlight_clause, read_fragment
from opensearch_pretrained_haystack.highlighting.sentences import Sentence, segment, utf16_length
from opensearch_pretrained_haystack.inference.torchscript import shared_script_model
from tests.highlighting.fixture import HIGHLIGHTER_DIR, node_check, references


@cache
def highlighter() -> TorchScriptHighlighter:
    artifact = load_model_dir(HIGHLIGHTER_DIR)
    return TorchScriptHighlighter(artifact, shared_script_model(artifact).value)


def searches(model: str) -> list[dict]:
    return [s for s in node_check()["semantic_highlight_search"]["searches"] if s["model"] == model]


def drifts(context: str, sentence: Sentence) -> bool:
    """Whether ML Commons' offsets (UTF-16 units) miss the sentence's true span."""
    true = (utf16_length(context[: sentence.start]), utf16_length(context[: sentence.end]))
    return true != (sentence.node_start, sentence.node_end)


def test_local_fragments_equal_every_fragment_the_node_returned() -> None:
    contexts = {pair["name"]: pair["context"] for pair in references()}
    compared, drifted = 0, []
    for search in searches("main"):
        tags = (search["request"]["highlight"].get("pre_tags", ["<em>"])[0],
                search["request"]["highlight"].get("post_tags", ["</em>"])[0])  # fmt: skip
        for hit in search["response"]["hits"]["hits"]:
            context = contexts[hit["_id"]]
            [answer] = highlighter().highlight(search["extracted_question"], [context])
            [node_fragment] = hit["highlight"]["text"]
            if any(drifts(context, sentence) for sentence in answer.sentences):
                # The node wraps its drifted offsets (abbreviation rewrite): the tags cut words. Pinned divergence.
                as_node = [replace(s, start=s.node_start, end=s.node_end) for s in answer.sentences]
                assert fragment(context, as_node, *tags) == node_fragment != fragment(context, answer.sentences, *tags)
                with pytest.raises(ValueError, match="not sentences of the document"):
                    read_fragment(context, node_fragment, *tags)
                drifted.append(hit["_id"])
                continue
            assert fragment(context, answer.sentences, *tags) == node_fragment, (search["label"], hit["_id"])
            assert read_fragment(context, node_fragment, *tags) == answer.sentences
            compared += 1
    assert (compared, drifted) == (7, ["abbreviations"])


def test_where_the_node_fails_the_search_the_local_fragment_is_sound() -> None:
    [failed] = [s for s in searches("probe") if s["status"] == 500]
    assert "Invalid highlight positions: start=76, end=106, textLength=104" in str(failed["response"])
    [abbreviations] = [pair for pair in references() if pair["name"] == "abbreviations"]
    context = abbreviations["context"]
    everything = segment(context)  # the probe model selects every sentence
    marked = fragment(context, everything)
    assert marked.replace("<em>", "").replace("</em>", "") == context
    assert read_fragment(context, marked) == everything


def test_a_fragment_that_marks_no_sentence_is_refused() -> None:
    context = "Dr. Smith arrived. He left."
    with pytest.raises(ValueError, match="not sentences of the document"):
        read_fragment(context, "<em>Dr. Smith arrived. He</em> left.")
    with pytest.raises(ValueError, match="not the document's text"):
        read_fragment(context, "<em>Dr@@@ Smith arrived.</em> He left.")
    assert read_fragment(context, context) == []


def test_the_request_clause_is_neural_search_s() -> None:
    assert highlight_clause("content", "m1") == {
        "fields": {"content": {"type": "semantic"}},
        "options": {"model_id": "m1"},
        "pre_tags": ["<em>"],
        "post_tags": ["</em>"],
    }
