"""
``ModelTokenSplitter``: passages that fit the model's token limit, counted with the artifact's own tokenizer.

OpenSearch's pretrained artifacts truncate (all-MiniLM-L6-v2 at 128 tokens), so the tail of a longer text is
silently ignored, by the cluster and by the local embedder alike. Splitting by words or characters only guesses
at that limit; this splitter counts exactly what the model will see.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from haystack import Document, component, default_from_dict
from tokenizers import Encoding

from opensearch_pretrained_haystack.artifacts import Lease, resolve_artifact
from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.inference.tokenizer import ModelTokenizer, shared_tokenizer
from opensearch_pretrained_haystack.serialization import init_parameters_to_dict
from opensearch_pretrained_haystack.text_preparation import split_by_content

# Chosen by measurement with `opensearch-pretrained evaluate` (see README): tokens shared by neighbouring passages
# (SciFact train, all-MiniLM-L6-v2, 126-token passages: dense nDCG@10 0.692 at 64, 0.685 at 32).
DEFAULT_OVERLAP = 64
# A text longer than this is tokenized a segment at a time (see ``_long_text_spans``): a huge document's tokens are
# never all held, and its passages are those the whole text gives.
SEGMENT_CHARS = 200_000
# Characters of text before a passage that a segment starts with: the tokenizers split text into words first, so the
# tokens a few words into a segment are those of the whole text.
SEGMENT_CONTEXT = 1000


@component
class ModelTokenSplitter:
    """
    Cuts documents into passages of at most ``window`` tokens of the model, neighbours sharing ``overlap``.

    Passages are exact substrings of the source text, cut between words where possible. Each keeps the
    source's meta plus ``source_id`` (the source document's id), ``split_id`` (its position) and
    ``split_idx_start`` (its character offset) — the names Haystack's ``DocumentSplitter`` uses — so results
    can be collapsed back to source documents (``SourceDocumentCollapser``). Passage ids are hashes of
    content and meta, so the same input always gives the same ids. A document without content is returned as
    one passage without content, counted in ``meta`` and named in one warning: never dropped.

    Usage example:
    ```python
    from haystack import Document
    from haystack_integrations.components.preprocessors.opensearch_pretrained import ModelTokenSplitter

    splitter = ModelTokenSplitter(model="all-MiniLM-L6-v2")
    passages = splitter.run(documents=[Document(content=long_text)])["documents"]
    ```
    """

    def __init__(
        self,
        model: str | PretrainedModel = "all-MiniLM-L6-v2",
        version: str | None = None,
        *,
        mirror: str | None = None,
        cache_dir: str | None = None,
        window: int | None = None,
        overlap: int = DEFAULT_OVERLAP,
    ) -> None:
        """
        Create the splitter; the tokenizer is loaded at ``warm_up``.

        :param model: A catalog name or alias (or a ``PretrainedModel``), or a directory holding a custom model zip
            and its ``config.json``.
        :param version: The catalog version; ``None`` takes the newest.
        :param mirror: A directory or URL laid out like the artifacts site, for offline machines.
        :param cache_dir: Where verified artifacts are kept.
        :param window: Tokens per passage, special tokens excluded; ``None`` fills the model's limit.
        :param overlap: Tokens each passage shares with the previous one.
        """
        if window is not None and window < 1:
            raise ValueError(f"window must be at least 1 token, got {window}.")
        if overlap < 0 or (window is not None and overlap >= window):
            raise ValueError(f"overlap must be at least 0 and smaller than the window, got {overlap}.")
        if isinstance(model, PretrainedModel):  # kept as name and version, which serialize
            version = version or model.version
            model = model.name
        self.model = model
        self.version = version
        self.mirror = mirror
        self.cache_dir = cache_dir
        self.window = window
        self.overlap = overlap
        self._lease: Lease[ModelTokenizer] | None = None
        self._window = 0

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component: its ``__init__`` parameters."""
        return init_parameters_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelTokenSplitter:
        """Deserialize the component."""
        return default_from_dict(cls, data)

    def warm_up(self) -> None:
        """Share the artifact's tokenizer (loaded once per process) and check the window against the limit."""
        if self._lease is not None:
            return
        artifact = resolve_artifact(
            self.model, self.version, mirror=self.mirror, cache_dir=self.cache_dir, progress_bar=False
        )
        lease = shared_tokenizer(artifact)
        try:
            self._window = self._checked_window(lease.value)
        except BaseException:
            lease.release()
            raise
        self._lease = lease

    def close(self) -> None:
        """Give back this splitter's share of the tokenizer; ``run`` warms up again."""
        if self._lease is not None:
            self._lease.release()
            self._lease = None

    def _checked_window(self, model_tokenizer: ModelTokenizer) -> int:
        max_tokens = model_tokenizer.max_tokens
        room = max_tokens - model_tokenizer.special_tokens
        if self.window is not None and self.window > room:
            raise ValueError(
                f"window={self.window} tokens does not fit {self.model}: it truncates at {max_tokens} tokens, "
                f"{max_tokens - room} of them special, so at most {room} tokens of text are seen. Use window<={room}."
            )
        window = self.window or room
        if self.overlap >= window:
            raise ValueError(f"overlap={self.overlap} must be smaller than the window ({window} tokens).")
        return window

    @component.output_types(documents=list[Document], meta=dict[str, Any])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """
        Split documents into passages.

        :param documents: The source documents.
        :returns: ``documents``: their passages, in order (a document without content, see ``has_content``, is
            one passage without content); ``meta``: ``documents_without_content``, how many had none.
        """
        to_split, without = self._prepare(documents)
        passages = list(self._passages(documents, to_split))
        return {"documents": passages, "meta": {"documents_without_content": len(without)}}

    def stream(self, documents: list[Document]) -> Iterator[Document]:
        """
        The passages ``run`` returns, made as they are consumed.

        The batch job embeds and writes the first passages of a huge document while its later ones are still to be cut,
        so its memory stays flat.

        :param documents: The source documents.
        :returns: Their passages, in order.
        """
        to_split, _ = self._prepare(documents)
        return self._passages(documents, to_split)

    def _prepare(self, documents: list[Document]) -> tuple[list[int], list[int]]:
        if not isinstance(documents, list) or any(not isinstance(doc, Document) for doc in documents):
            raise TypeError("ModelTokenSplitter expects a list of Documents as input.")
        self.warm_up()
        return split_by_content(type(self).__name__, documents)

    def _passages(self, documents: list[Document], to_split: list[int]) -> Iterator[Document]:
        assert self._lease is not None
        long = {i for i in to_split if len(documents[i].content or "") > SEGMENT_CHARS}
        short = [i for i in to_split if i not in long]
        encodings = self._lease.value.tokenizer.encode_batch(
            [documents[i].content for i in short], add_special_tokens=False
        )
        encoding_of = dict(zip(short, encodings, strict=True))
        for position, doc in enumerate(documents):
            if position in long:
                spans: Iterator[tuple[int, int]] | list[tuple[int, int]] = self._long_text_spans(doc.content or "")
            else:  # a document without content is its own one passage: kept, and collapsible to its source
                spans = self.spans(encoding_of.pop(position)) if position in encoding_of else [(0, 0)]
            for split_id, (start, end) in enumerate(spans):
                meta = {**doc.meta, "source_id": doc.id, "split_id": split_id, "split_idx_start": start}
                content = None if doc.content is None else doc.content[start:end]
                # id="" makes Document hash the passage's content and meta: stable ids across runs.
                yield replace(doc, id="", content=content, meta=meta, embedding=None, score=None)

    def _long_text_spans(self, text: str) -> Iterator[tuple[int, int]]:
        """
        The character spans ``spans`` gives for the whole of ``text``, tokenizing one segment at a time.

        A passage ending near a segment's cut (where the tokens may differ from the whole text's) is cut again in
        the next segment, which starts ``SEGMENT_CONTEXT`` characters before it at a word: from that passage's first
        token on, the next segment's tokens are the whole text's.
        """
        assert self._lease is not None
        tokenizer = self._lease.value.tokenizer
        base, restart, size = 0, 0, SEGMENT_CHARS
        while True:
            stop = _segment_end(text, base, base + size)
            encoding = tokenizer.encode(text[base:stop], add_special_tokens=False)
            offsets = encoding.offsets
            first = next((i for i, (start, _) in enumerate(offsets) if base + start >= restart), len(offsets))
            spans = [
                (base + offsets[start][0], base + offsets[end - 1][1])
                for start, end in self._token_spans(encoding, first)
            ]
            final = stop >= len(text)
            kept = spans if final else [span for span in spans if span[1] <= stop - SEGMENT_CONTEXT]
            if not kept and not final:  # no passage ends clear of the cut (long words): a longer segment
                size *= 2
                continue
            yield from kept
            if final:
                return
            restart = spans[len(kept)][0]
            base, size = _word_before(text, restart - SEGMENT_CONTEXT, lower=base), SEGMENT_CHARS

    def spans(self, encoding: Encoding) -> list[tuple[int, int]]:
        """Character spans of the passages of one encoded text (encoded without special tokens)."""
        if len(encoding.ids) == 0:
            return [(0, 0)]
        offsets = encoding.offsets
        return [(offsets[start][0], offsets[end - 1][1]) for start, end in self._token_spans(encoding)]

    def _token_spans(self, encoding: Encoding, first: int = 0) -> Iterator[tuple[int, int]]:
        """
        The passages of one encoded text from token ``first`` on, as token ranges.

        ``window`` tokens, cut between words, the next one starting ``overlap`` tokens back (at a word's start).
        """
        count = len(encoding.ids)
        words = encoding.word_ids
        start = first
        while start < count:
            end = min(start + self._window, count)
            if end < count:
                end = _word_start(words, end, lower=start + 1)
            yield start, end
            if end >= count:
                return
            start = _word_start(words, max(end - self.overlap, start + 1), lower=start + 1)


def _segment_end(text: str, base: int, position: int) -> int:
    """
    Where the segment from ``base`` is cut near ``position``.

    At the end of the text, or after the last space or newline in its second half (at ``position`` itself when there is
    none).
    """
    if position >= len(text):
        return len(text)
    half = (base + position) // 2
    cut = max(text.rfind(" ", half, position), text.rfind("\n", half, position))
    return cut + 1 if cut >= 0 else position


def _word_before(text: str, position: int, *, lower: int) -> int:
    """The start of the word at or before ``position`` (after a whitespace character), not below ``lower``."""
    position = max(position, lower)
    while position > lower and not (text[position - 1].isspace() and not text[position].isspace()):
        position -= 1
    return position


def _word_start(words: list[int | None], position: int, *, lower: int) -> int:
    """
    Move ``position`` back to the first token of its word, so no word is cut.

    Not below ``lower`` (a single word longer than the window is cut, as it must be).
    """

    def inside_word(i: int) -> bool:
        return words[i] is not None and words[i] == words[i - 1]

    candidate = position
    while candidate > lower and inside_word(candidate):
        candidate -= 1
    return position if inside_word(candidate) else candidate
