"""
The sentence highlighter's predict call in ML Commons, as I/O-free operations (see `protocol.py`).

Request `{"question", "context"}` (one pair per call; `../shared/docs/semantic-highlighter.md` §4.1); response
`inference_results[0].output[0].dataAsMap.highlights`: `{start, end, text, position}` per selected sentence, numbers
as doubles, offsets in UTF-16 code units, unique by `position` and sorted by it.

The cluster decides *which* sentences; what a caller gets for each is the `Sentence` of the package's own
segmentation at that position (true text and Python offsets, see `sentences.py`). Each highlight the cluster returns
is first checked against that segmentation's ML Commons fields, so a cluster that segments differently fails loudly
instead of highlighting the wrong text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opensearch_pretrained_haystack.cluster.errors import MLCommonsError
from opensearch_pretrained_haystack.cluster.protocol import Call, Operation
from opensearch_pretrained_haystack.cluster.versions import ML
from opensearch_pretrained_haystack.highlighting.sentences import Sentence, segment


def predict_body(question: str, context: str) -> dict[str, Any]:
    """The predict body of a QUESTION_ANSWERING sentence highlighter (no `parameters`: the node ignores them)."""
    return {"question": question, "context": context}


def node_highlights(response: Any) -> list[dict[str, Any]]:
    """
    The raw highlights of a predict response (numbers as the node sent them).

    :raises MLCommonsError: If the body holds no `highlights` list (e.g. the model is not a sentence highlighter).
    """
    try:
        highlights = response["inference_results"][0]["output"][0]["dataAsMap"]["highlights"]
        if isinstance(highlights, list) and all(isinstance(h, dict) for h in highlights):
            return highlights
    except (KeyError, IndexError, TypeError):
        pass
    msg = (
        "ML Commons answered predict without inference_results[0].output[0].dataAsMap.highlights; "
        "is the model a sentence highlighter (QUESTION_ANSWERING, model_type sentence_highlighting)?"
    )
    raise MLCommonsError(msg)


def node_response(sentences: Sequence[Sentence]) -> dict[str, Any]:
    """
    The exact body ML Commons' predict returns for these selected sentences.

    Its own (UTF-16) offsets and text, numbers as doubles (Gson), keys in its order.
    """
    highlights = [
        {"start": float(s.node_start), "end": float(s.node_end), "text": s.node_text, "position": float(s.position)}
        for s in sentences
    ]
    return {"inference_results": [{"output": [{"name": "highlights", "dataAsMap": {"highlights": highlights}}]}]}


def selected_sentences(response: Any, sentences: Sequence[Sentence]) -> list[Sentence]:
    """
    The sentences the cluster selected, checked against the package's segmentation of the same context.

    :raises MLCommonsError: If a highlight names a position, text or offsets the segmentation does not have.
    """
    chosen: dict[int, Sentence] = {}
    for highlight in node_highlights(response):
        position = int(highlight.get("position", -1))
        expected = sentences[position] if 0 <= position < len(sentences) else None
        got = (highlight.get("start"), highlight.get("end"), highlight.get("text"))
        if expected is None or got != (expected.node_start, expected.node_end, expected.node_text):
            msg = (
                f"ML Commons highlighted sentence {position} as {got!r}, which this package's copy of ML Commons 3.x "
                "sentence segmentation does not produce; the cluster's segmentation differs, so its positions "
                "cannot be trusted."
            )
            raise MLCommonsError(msg)
        chosen[position] = expected
    return [chosen[p] for p in sorted(chosen)]


def predict_highlights(
    model_id: str, question: str, contexts: Sequence[str], timeout: float | None = None
) -> Operation[list[list[Sentence] | MLCommonsError]]:
    """
    The selected sentences of each context for one question, one predict call per context.

    A context the cluster refuses or fails on for good (e.g. its HTTP 500 on long punctuation-rich text) gets that
    error in its place, so one such context costs only its own answer; a retryable error is raised, so that the
    caller's retry policy runs the whole call again.
    """
    answers: list[list[Sentence] | MLCommonsError] = []
    for context in contexts:
        try:
            response = yield Call(
                "POST", f"{ML}/models/{model_id}/_predict", predict_body(question, context), timeout=timeout
            )
            answers.append(selected_sentences(response, segment(context)))
        except MLCommonsError as error:
            if error.retryable:
                raise
            answers.append(error)
    return answers
