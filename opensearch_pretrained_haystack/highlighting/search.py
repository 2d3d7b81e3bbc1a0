"""
Semantic highlighting of search hits, as neural-search 3.x does it (`../shared/docs/semantic-highlighter.md` §5).

A search asks for it with `highlight_clause`; neural-search then predicts with the field's text as context and the
query's text as question (a `neural` query's, also inside `hybrid`: its original text; a `match`: its analyzed
terms), and returns one fragment per hit: the whole text with each selected sentence wrapped in the tags, or the
text untagged when nothing is selected. `fragment` builds the same string from local highlights; `read_fragment`
turns the cluster's fragment back into the sentences it marks, so a hit highlighted by the cluster carries the same
`Sentence`s as one highlighted locally.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opensearch_pretrained_haystack.highlighting.sentences import Sentence, segment

PRE_TAG = "<em>"
POST_TAG = "</em>"
"""neural-search's default tags (only the first `pre_tags`/`post_tags` entry is used)."""


def highlight_clause(field: str, model_id: str) -> dict[str, Any]:
    """The search body's `highlight` asking for `field` to be highlighted by the sentence highlighter `model_id`."""
    return {
        "fields": {field: {"type": "semantic"}},
        "options": {"model_id": model_id},
        "pre_tags": [PRE_TAG],
        "post_tags": [POST_TAG],
    }


def fragment(context: str, sentences: Sequence[Sentence], pre_tag: str = PRE_TAG, post_tag: str = POST_TAG) -> str:
    """The whole context with each sentence's span wrapped in the tags (neural-search's `applyHighlighting`)."""
    parts, last = [], 0
    for sentence in sentences:
        parts += [context[last : sentence.start], pre_tag, context[sentence.start : sentence.end], post_tag]
        last = sentence.end
    parts.append(context[last:])
    return "".join(parts)


def read_fragment(context: str, marked: str, pre_tag: str = PRE_TAG, post_tag: str = POST_TAG) -> list[Sentence]:
    """
    The sentences of `context` a cluster's fragment marks.

    :raises ValueError: If the fragment is not the context with tags around whole sentences (e.g. the cluster's
        offsets drifted after an abbreviation rewrite), so nothing wrong is reported as highlighted.
    """
    spans, plain, rest = [], [], marked
    while (opening := rest.find(pre_tag)) != -1:
        closing = rest.find(post_tag, opening + len(pre_tag))
        if closing == -1:
            break
        plain.append(rest[:opening])
        start = sum(map(len, plain))
        plain.append(rest[opening + len(pre_tag) : closing])
        spans.append((start, sum(map(len, plain))))
        rest = rest[closing + len(post_tag) :]
    plain.append(rest)
    if "".join(plain) != context:
        raise ValueError("the highlighted fragment is not the document's text with tags added")
    by_span = {(s.start, s.end): s for s in segment(context)}
    missing = [span for span in spans if span not in by_span]
    if missing:
        raise ValueError(f"the fragment marks {missing}, which are not sentences of the document")
    return [by_span[span] for span in spans]
