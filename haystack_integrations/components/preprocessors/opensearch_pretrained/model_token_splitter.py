"""
``ModelTokenSplitter``: passages that fit the model's token limit, counted with the artifact's own tokenizer.

OpenSearch's pretrained artifacts truncate (all-MiniLM-L6-v2 at 128 tokens), so the tail of a longer text is
silently ignored, by the cluster and by the local embedder alike. Splitting by words or characters only guesses
at that limit; this splitter counts exactly what the model will see.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from haystack import Document, component, default_from_dict
from tokenizers import Encoding

from opensearch_pretrained_haystack.artifacts import Lease, resolve_artifact
from opensearch_pretrained_haystack.catalog import PretrainedModel
from opensearch_pretrained_haystack.inference.tokenizer import ModelTokenizer, shared_tokenizer
from opensearch_pretrained_haystack.serialization import init_parameters_to_dict
from opensearch_pretrained_haystack.text_analysis import TITLE_FIELD
from opensearch_pretrained_haystack.text_preparation import split_by_content

# Chosen by measurement with `opensearch-pretrained evaluate` (see README): tokens shared by neighbouring passages
# (SciFact train, all-MiniLM-L6-v2, 126-token passages: dense nDCG@10 0.692 at 64, 0.685 at 32).
DEFAULT_OVERLAP = 64
# The title on every passage, by measurement too (SciFact train: dense nDCG@10 0.702 with it, 0.692 with the title
# on the first passage only; hybrid 0.7445 against 0.7417).
DEFAULT_TITLE_HEADER = True
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

    Passages are exact substrings of the source text, cut between words where possible; with ``title_header`` (the
    default) a document with a ``meta["title"]`` has that title in front of every passage, and each passage's text
    after it is an exact substring (the first passage of a content that starts with its title is the content's own
    start). Each keeps the source's meta plus ``source_id`` (the source document's id), ``split_id`` (its position)
    and ``split_idx_start`` (its character offset; of the text after the title) — the names Haystack's
    ``DocumentSplitter`` uses — so results can be collapsed back to source documents (``SourceDocumentCollapser``).
    Passage ids are hashes of content and meta, so the same input always gives the same ids. A document without
    content is returned as one passage without content, counted in ``meta`` and named in one warning: never dropped.

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
        title_header: bool = DEFAULT_TITLE_HEADER,
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
        :param title_header: Start every passage of a document with a ``meta["title"]`` with that title (see
            ``_headers``): the body is cut into windows shrunk by the title's tokens, so the whole passage fits, and
            the overlap shrinks in the same ratio.
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
        self.title_header = title_header
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
        headers = self._headers(documents, to_split) if self.title_header else {}
        text = {i: documents[i].content or "" for i in to_split}  # what is tokenized, built once
        for i, titled in headers.items():  # a titled document as its passages read: title, then body
            text[i] = titled.text(text[i])
        long = {i for i in to_split if len(text[i]) > SEGMENT_CHARS}
        short = [i for i in to_split if i not in long]
        encodings = self._lease.value.tokenizer.encode_batch([text[i] for i in short], add_special_tokens=False)
        encoding_of = dict(zip(short, encodings, strict=True))
        for position, doc in enumerate(documents):
            header = headers.get(position)
            window, overlap = (header.window, header.overlap) if header else (self._window, self.overlap)
            body = header.skip if header else 0  # windows are cut from the body on, after the title
            if position in long:
                spans: Iterator[tuple[int, int]] | list[tuple[int, int]] = self._long_text_spans(
                    text[position], window, overlap, body
                )
            elif position in encoding_of:
                spans = self.spans(encoding_of.pop(position), window, overlap, body)
            else:  # a document without content is its own one passage: kept, and collapsible to its source
                spans = [(0, 0)]
            for split_id, (start, end) in enumerate(spans):
                content = None if doc.content is None else doc.content[start:end]
                if header is not None:  # the span is one of the header's text
                    start, content = header.passage(doc.content or "", split_id, start, end)
                meta = {**doc.meta, "source_id": doc.id, "split_id": split_id, "split_idx_start": start}
                # id="" makes Document hash the passage's content and meta: stable ids across runs.
                yield replace(doc, id="", content=content, meta=meta, embedding=None, score=None)

    def _headers(self, documents: list[Document], to_split: list[int]) -> dict[int, _TitleHeader]:
        """
        The title header of each document to split that has a ``meta["title"]`` leaving room for a window.

        The title's whitespace is collapsed as the cleaner collapses the content's. A document whose content starts
        with its title (as BEIR records are indexed) has its body after it. A title longer than half the window (a
        text, not a title), or a content that is only the title, gives no header: the document is cut as without.
        """
        assert self._lease is not None
        titles: dict[int, str] = {}
        for i in to_split:
            title = documents[i].meta.get(TITLE_FIELD)
            if isinstance(title, str) and (title := " ".join(title.split())):
                titles[i] = title
        encodings = self._lease.value.tokenizer.encode_batch(list(titles.values()), add_special_tokens=False)
        headers = {}
        for (i, title), encoding in zip(titles.items(), encodings, strict=True):
            content = documents[i].content or ""
            body = len(title) if content.startswith(title) else 0
            if body and body < len(content) and not content[body].isspace():
                body = 0  # the content starts with a longer word, not with the title
            while body and body < len(content) and content[body].isspace():
                body += 1
            window = self._window - len(encoding.ids)
            if 2 * window >= self._window and body < len(content):
                headers[i] = _TitleHeader(title, body, window, self.overlap * window // self._window)
        return headers

    def _long_text_spans(self, text: str, window: int, overlap: int, start: int = 0) -> Iterator[tuple[int, int]]:
        """
        The character spans ``spans`` gives for ``text`` from character ``start`` on, tokenizing a segment at a time.

        A passage ending near a segment's cut (where the tokens may differ from the whole text's) is cut again in
        the next segment, which starts ``SEGMENT_CONTEXT`` characters before it at a word: from that passage's first
        token on, the next segment's tokens are the whole text's.
        """
        assert self._lease is not None
        tokenizer = self._lease.value.tokenizer
        base, restart, size = 0, start, SEGMENT_CHARS
        done = start  # where the last passage given ends, a character: the next must end past it
        while True:
            stop = _segment_end(text, base, base + size)
            encoding = tokenizer.encode(text[base:stop], add_special_tokens=False)
            offsets = encoding.offsets
            first, previous_end = _token_from(offsets, restart - base), _token_from(offsets, done - base)
            spans = [
                (base + offsets[start][0], base + offsets[end - 1][1])
                for start, end in self._token_spans(encoding, window, overlap, first, max(previous_end, first))
            ]
            final = stop >= len(text)
            kept = spans if final else [span for span in spans if span[1] <= stop - SEGMENT_CONTEXT]
            if not kept and not final:  # no passage ends clear of the cut (long words): a longer segment
                size *= 2
                continue
            yield from kept
            if final:
                return
            restart, done = spans[len(kept)][0], kept[-1][1]
            base, size = _word_before(text, restart - SEGMENT_CONTEXT, lower=base), SEGMENT_CHARS

    def spans(
        self, encoding: Encoding, window: int | None = None, overlap: int | None = None, start: int = 0
    ) -> list[tuple[int, int]]:
        """
        Character spans of the passages of one encoded text (encoded without special tokens).

        :param encoding: The text's tokens.
        :param window: Tokens per passage; ``None`` takes the splitter's.
        :param overlap: Tokens neighbours share; ``None`` takes the splitter's.
        :param start: The character the passages start at; the text before it (a title header) is in none.
        :returns: The spans, in order; a text without tokens (from ``start`` on) is one span.
        """
        offsets = encoding.offsets
        first = _token_from(offsets, start)
        if first == len(offsets):
            return [(start, start)]
        return [
            (offsets[begin][0], offsets[end - 1][1])
            for begin, end in self._token_spans(
                encoding, window or self._window, self.overlap if overlap is None else overlap, first
            )
        ]

    def _token_spans(
        self, encoding: Encoding, window: int, overlap: int, first: int = 0, previous_end: int | None = None
    ) -> Iterator[tuple[int, int]]:
        """
        The passages of one encoded text from token ``first`` on, as token ranges.

        ``window`` tokens, cut between words, the next one starting ``overlap`` tokens back (at a word's start). A
        passage always ends past the previous one: where no word starts in between (words longer than the window less
        the overlap: sequences, hashes), the word is cut, as one longer than the window must be — moving back to its
        start would give passages that each add one token. ``previous_end`` is where the passage before the one
        starting at ``first`` ends (a token of this encoding; ``first`` when there is none).
        """
        count = len(encoding.ids)
        words = encoding.word_ids
        start = first
        previous_end = first if previous_end is None else previous_end  # the end of the passage before ``first``'s
        while start < count:
            end = min(start + window, count)
            if end < count:
                end = _word_start(words, end, lower=previous_end + 1)
            yield start, end
            if end >= count:
                return
            start, previous_end = _word_start(words, max(end - overlap, start + 1), lower=start + 1), end


@dataclass(frozen=True)
class _TitleHeader:
    """
    A document's title, put in front of each of its passages.

    The document is tokenized as its passages read: the title, a space, the body. The tokenizers cut words at
    spaces first, so the title's tokens and each body window's tokens are those of the passage.
    """

    title: str
    body: int  # where the body starts in the content: after the title, when the content starts with it
    window: int  # body tokens per passage: the splitter's window less the title's
    overlap: int  # body tokens shared by neighbours: the splitter's overlap, shrunk as the window is

    @property
    def skip(self) -> int:
        """Where the body starts in ``text``."""
        return len(self.title) + 1

    def text(self, content: str) -> str:
        """The title and the body of ``content``."""
        return f"{self.title} {content[self.body :]}"

    def passage(self, content: str, split_id: int, start: int, end: int) -> tuple[int, str]:
        """
        Where the passage of the span ``start:end`` of ``text`` starts in ``content``, and its text.

        The title and the body window; the first passage of a content that starts with its title is the content's
        own start, the title as the content has it.
        """
        start, end = self.body + start - self.skip, self.body + end - self.skip
        if split_id == 0 and self.body:
            return 0, content[:end]
        return start, f"{self.title} {content[start:end]}"


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


def _token_from(offsets: list[tuple[int, int]], character: int) -> int:
    """The first token starting at or after ``character`` (the number of tokens when none does)."""
    return next((i for i, (start, _) in enumerate(offsets) if start >= character), len(offsets))


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
