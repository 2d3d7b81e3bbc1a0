"""ML Commons' sentence segmentation, checked against every sentence a real 3.6.0 node returned."""

import json

import pytest

from opensearch_pretrained_haystack.highlighting.sentences import segment, word_sentence_ids
from tests.highlighting.fixture import HIGHLIGHTER_DIR, references


def probe_answers() -> list[tuple[str, dict]]:
    """(context, node highlight) for every sentence the probe model (which selects all) got back from the node."""
    data = json.loads((HIGHLIGHTER_DIR / "references.json").read_text("utf-8"))
    contexts = {pair["id"]: pair["context"] for pair in references()}
    return [
        (contexts[pair["id"]], highlight)
        for pair in data["probe_model"]["pairs"]
        if pair["node"]["status"] == 200
        for highlight in pair["node"]["body"]["inference_results"][0]["output"][0]["dataAsMap"]["highlights"]
    ]


def test_every_sentence_the_node_reported_is_segmented_alike() -> None:
    answers = probe_answers()
    assert len(answers) == 332
    for context, highlight in answers:
        sentence = segment(context)[int(highlight["position"])]
        assert (sentence.node_start, sentence.node_end, sentence.node_text) == (
            highlight["start"],
            highlight["end"],
            highlight["text"],
        )


def test_the_true_span_reads_the_text_back_where_ml_commons_rewrites_it() -> None:
    context = 'Dr. Smith said "Stop." Mr. Brown left.'
    sentences = segment(context)
    assert [s.node_text for s in sentences] == ['Dr@@@ Smith said "Stop".', "Mr@@@ Brown left."]
    assert [s.text for s in sentences] == ['Dr. Smith said "Stop."', "Mr. Brown left."]
    assert all(context[s.start : s.end].strip() == s.text for s in sentences)
    assert (sentences[1].node_start, sentences[1].node_end) == (24, 41)  # past the 38-character text
    assert (sentences[1].start, sentences[1].end) == (23, 38)


@pytest.mark.parametrize(
    ("context", "texts"),
    [
        ("Pi is 3.14 today. The U.S.A. won. J. R. Tolkien wrote it. It is 5 p.m. now", None),
        ("No break here。Nor here", ["No break here。Nor here"]),
        ("One!  Two?\nThree.  ", ["One!", "Two?", "Three."]),
    ],
)
def test_java_split_rules(context: str, texts: list[str] | None) -> None:
    sentences = segment(context)
    if texts is None:  # decimals, acronyms and p.m. do not end a sentence; spaced initials do (so on the node)
        texts = ["Pi is 3.14 today.", "The U.S.A. won.", "J.", "R.", "Tolkien wrote it.", "It is 5 p.m. now"]
    assert [s.text for s in sentences] == texts


def test_node_offsets_count_utf16_units_true_ones_python_characters() -> None:
    context = "Pizza 🍕 is good. So is 🍣."
    [first, second] = segment(context)
    assert (second.node_start, second.node_end) == (18, 27)  # UTF-16: the pizza is two code units
    assert (second.start, second.end) == (17, 25)
    assert context[first.start : first.end] == first.text


def test_the_word_map_is_ml_commons_whitespace_words() -> None:
    context = "A  b. C d."  # the double space shifts the assumed word starts: "C" (5-6) is in no sentence
    assert word_sentence_ids(segment(context), context) == [0, 0, 0, 1]
    assert word_sentence_ids(segment("   "), "   ") == []
