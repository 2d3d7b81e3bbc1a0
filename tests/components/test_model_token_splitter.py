import json
from itertools import pairwise
from unittest.mock import ANY

import pytest
from haystack import Document, Pipeline
from tokenizers import Tokenizer

from haystack_integrations.components.preprocessors.opensearch_pretrained import (
    ModelTokenSplitter,
    model_token_splitter,
)
from opensearch_pretrained_haystack.app.batch import job
from opensearch_pretrained_haystack.app.pipelines import indexing_components
from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder
from tests.conftest import REFERENCE, TESTING

TINY = str(TESTING / "tiny-bert-mean")  # truncates at 128 tokens, 2 special tokens
LONG = " ".join(f"Sentence number {i} talks about topic{i % 7} and unbelievably long words." for i in range(60))


@pytest.fixture(scope="module")
def tiny_tokenizer():
    return LocalOnnxEmbedder(TINY).tokenizer


def test_passages_fit_the_limit_are_exact_substrings_and_keep_the_source(tiny_tokenizer):
    source = Document(id="src", content=LONG, meta={"lang": "en"})
    passages = ModelTokenSplitter(TINY, overlap=16).run([source])["documents"]
    assert len(passages) > 4
    for index, passage in enumerate(passages):
        assert len(tiny_tokenizer.encode(passage.content).ids) <= 128
        start = passage.meta["split_idx_start"]
        assert LONG[start : start + len(passage.content)] == passage.content
        assert passage.meta == {"lang": "en", "source_id": "src", "split_id": index, "split_idx_start": start}
        assert passage.embedding is None
    assert passages[-1].content.endswith("long words.")


def test_neighbours_overlap_and_no_word_is_cut():
    passages = ModelTokenSplitter(TINY, window=40, overlap=10).run([Document(content=LONG)])["documents"]
    for previous, passage in pairwise(passages):
        previous_end = previous.meta["split_idx_start"] + len(previous.content)
        assert passage.meta["split_idx_start"] < previous_end  # shared text
        start = passage.meta["split_idx_start"]
        assert start == 0 or not (LONG[start - 1].isalnum() and LONG[start].isalnum())
    no_overlap = ModelTokenSplitter(TINY, window=40, overlap=0).run([Document(content=LONG)])["documents"]
    assert len(no_overlap) < len(passages)


def test_words_longer_than_window_less_overlap_advance_by_the_stride_not_a_token(tiny_tokenizer):
    # Sequences or hashes: each "word" is many tokens; moving every cut back to a word's start made passages that
    # ended where the previous one did and started one token later (133 passages of this text instead of 15).
    words = ["".join("qxzjkv0123456789"[(i * 7 + j * 3) % 16] for j in range(60)) for i in range(8)]
    text = "Intro words. " + " ".join(words) + " and the end."
    tokens = len(tiny_tokenizer.encode(text, add_special_tokens=False).ids)
    passages = ModelTokenSplitter(TINY, window=40, overlap=10).run([Document(content=text)])["documents"]
    spans = [(p.meta["split_idx_start"], p.meta["split_idx_start"] + len(p.content)) for p in passages]
    assert all(a_start < b_start and a_end < b_end for (a_start, a_end), (b_start, b_end) in pairwise(spans))
    assert len(passages) <= 2 * tokens // (40 - 10) + 1  # at most twice the passages of an even stride
    assert spans[0][0] == 0 and spans[-1][1] == len(text)  # nothing left out
    assert all(end >= start_next for (_, end), (start_next, _) in pairwise(spans))


def test_short_documents_become_one_passage_and_ids_are_stable():
    splitter = ModelTokenSplitter(TINY)
    documents = [Document(content="A short text."), Document(content=""), Document(content=None)]
    result = splitter.run(documents)
    first = result["documents"]
    assert [p.content for p in first] == ["A short text.", "", None]
    assert [p.meta["source_id"] for p in first] == [d.id for d in documents]  # no content: kept, not dropped
    assert result["meta"] == {"documents_without_content": 2}
    assert first[0].meta["source_id"] == documents[0].id
    assert [p.id for p in ModelTokenSplitter(TINY).run(documents)["documents"]] == [p.id for p in first]


def test_real_model_reference_texts_fit_128_tokens():
    texts = [t for t in json.loads((REFERENCE / "texts.json").read_text()) if t.strip()]
    splitter = ModelTokenSplitter("all-MiniLM-L6-v2", "1.0.1")
    passages = splitter.run([Document(content=t) for t in texts])["documents"]
    tokenizer = LocalOnnxEmbedder("all-MiniLM-L6-v2", "1.0.1").tokenizer
    tokenizer.no_truncation()
    assert max(len(tokenizer.encode(p.content).ids) for p in passages) <= 128
    assert len(passages) > len(texts)  # the long concatenations were split


TITLE = "Naïve déjà-vu: unbelievably long words in 42 titles"
FAMILIES = ["tiny-bert-mean", "tiny-distilbert-cls", "tiny-mpnet-cls", "tiny-roberta-mean", "tiny-xlmr-bert-mean"]


def untruncated(model):
    tokenizer = Tokenizer.from_str(LocalOnnxEmbedder(model).tokenizer.to_str())
    tokenizer.no_truncation()
    return tokenizer


def bodies(passages, content):
    """Each passage's text after its title header (the first one's is all of it), checked to be the content's."""
    found = []
    for passage in passages:
        start = passage.meta["split_idx_start"]
        body = (
            passage.content if start == 0 and content.startswith(passage.content) else passage.content[len(TITLE) + 1 :]
        )
        assert content[start : start + len(body)] == body
        found.append((start, body))
    return found


@pytest.mark.parametrize("family", FAMILIES)
def test_the_title_heads_every_passage_and_no_passage_exceeds_the_window(family):
    """Every tokenizer family: the title's tokens and the body window's together fit, counted without truncation."""
    model = str(TESTING / family)
    content = f"{TITLE} {LONG}"  # as BEIR records are indexed: the content starts with the title
    source = Document(id="src", content=content, meta={"title": TITLE})
    passages = ModelTokenSplitter(model, window=64, overlap=16, title_header=True).run([source])["documents"]
    tokenizer = untruncated(model)  # the title is 16 to 31 tokens, so a body window is 33 to 48
    assert len(passages) > 10
    assert passages[0].content == content[: len(passages[0].content)]  # the content's own start, title included
    for index, passage in enumerate(passages):
        assert passage.content.startswith(f"{TITLE} ")
        assert len(tokenizer.encode(passage.content, add_special_tokens=False).ids) <= 64
        assert passage.meta == {"title": TITLE, "source_id": "src", "split_id": index, "split_idx_start": ANY}
    found = bodies(passages, content)
    for (start, body), (next_start, _) in pairwise(found):
        assert start < next_start < start + len(body)  # neighbours share text: nothing of the body is left out
    assert found[-1][1].endswith("long words.")


def test_a_content_without_its_title_gets_it_in_front_of_every_passage(tiny_tokenizer):
    source = Document(content=LONG, meta={"title": f"  {TITLE}\n"})  # whitespace collapsed as the cleaner does
    passages = ModelTokenSplitter(TINY, window=40, overlap=16, title_header=True).run([source])["documents"]
    assert [p.content[: len(TITLE) + 1] for p in passages] == [f"{TITLE} "] * len(passages)
    assert passages[0].meta["split_idx_start"] == 0
    assert bodies(passages, LONG)[0][1] == passages[0].content[len(TITLE) + 1 :]


def test_without_room_for_a_window_or_a_title_the_passages_are_those_without_header():
    plain = ModelTokenSplitter(TINY, window=40, overlap=16, title_header=False)
    headed = ModelTokenSplitter(TINY, window=40, overlap=16)  # the default
    long_title = " ".join(["word"] * 21)  # 21 tokens: more than half the window
    documents = [
        Document(content=f"{long_title} {LONG}", meta={"title": long_title}),
        Document(content=LONG),
        Document(content=LONG, meta={"title": 3}),
        Document(content="Only the title", meta={"title": "Only the title"}),
        Document(content="Catalogue of cats", meta={"title": "Cat"}),  # a longer word, not the title
    ]
    got = [(p.content, p.meta["split_idx_start"]) for p in headed.run(documents)["documents"]]
    expected = [(p.content, p.meta["split_idx_start"]) for p in plain.run(documents[:4])["documents"]]
    assert got == [*expected, ("Cat Catalogue of cats", 0)]


def test_real_model_titled_texts_fit_128_tokens():
    texts = [t for t in json.loads((REFERENCE / "texts.json").read_text()) if t.strip()]
    documents = [Document(content=t, meta={"title": " ".join(t.split()[:12])}) for t in texts]
    passages = ModelTokenSplitter("all-MiniLM-L6-v2", "1.0.1", title_header=True).run(documents)["documents"]
    tokenizer = LocalOnnxEmbedder("all-MiniLM-L6-v2", "1.0.1").tokenizer
    tokenizer.no_truncation()
    assert max(len(tokenizer.encode(p.content).ids) for p in passages) <= 128
    assert all(p.content.startswith(p.meta["title"]) for p in passages)
    assert len(passages) > len(texts)


def test_window_is_checked_against_the_model():
    with pytest.raises(ValueError, match="window<=126"):
        ModelTokenSplitter(TINY, window=127).warm_up()
    with pytest.raises(ValueError, match="overlap"):
        ModelTokenSplitter(TINY, window=10, overlap=10)
    with pytest.raises(ValueError, match="overlap"):
        ModelTokenSplitter(TINY, overlap=200).warm_up()


def test_wrong_input():
    with pytest.raises(TypeError, match="list of Documents"):
        ModelTokenSplitter(TINY).run("text")


def test_serialization_round_trip_in_a_pipeline():
    pipeline = Pipeline()
    pipeline.add_component("splitter", ModelTokenSplitter(TINY, window=50, overlap=5, title_header=True))
    loaded = Pipeline.loads(pipeline.dumps())
    splitter = loaded.get_component("splitter")
    assert (splitter.model, splitter.window, splitter.overlap, splitter.title_header) == (TINY, 50, 5, True)
    assert ModelTokenSplitter(TINY).to_dict()["type"] == (
        "haystack_integrations.components.preprocessors.opensearch_pretrained.model_token_splitter.ModelTokenSplitter"
    )


SEGMENTED_TEXT = " ".join(
    [
        "alpha",
        "beta,",
        "gamma.",
        "naïve",
        "déjà-vu",
        "x" * 150,
        "über",
        "l'été",
        "42",
        "3.14",
        "日本語",
        "🙂",
        "\n",
        " ",
    ][(i * 7919) % 14]
    for i in range(6000)
)


@pytest.mark.parametrize(
    "family", ["tiny-bert-mean", "tiny-distilbert-cls", "tiny-mpnet-cls", "tiny-roberta-mean", "tiny-xlmr-bert-mean"]
)
def test_a_long_text_cut_a_segment_at_a_time_gives_the_whole_texts_passages(family, monkeypatch):
    """Every tokenizer family of the catalog (WordPiece, byte-level BPE, SentencePiece): the same passages."""
    splitter = ModelTokenSplitter(str(TESTING / family), overlap=16)
    whole = [
        (p.meta["split_idx_start"], p.content) for p in splitter.run([Document(content=SEGMENTED_TEXT)])["documents"]
    ]
    monkeypatch.setattr(model_token_splitter, "SEGMENT_CHARS", 3000)
    monkeypatch.setattr(model_token_splitter, "SEGMENT_CONTEXT", 300)
    streamed = splitter.stream([Document(content=SEGMENTED_TEXT)])
    segmented = [(p.meta["split_idx_start"], p.content) for p in streamed]
    assert len(whole) > 10 and segmented == whole


def test_a_long_titled_text_cut_a_segment_at_a_time_gives_the_whole_texts_passages(monkeypatch):
    splitter = ModelTokenSplitter(TINY, overlap=16)
    source = Document(content=f"{TITLE} {SEGMENTED_TEXT}", meta={"title": TITLE})
    whole = [(p.meta["split_idx_start"], p.content) for p in splitter.run([source])["documents"]]
    monkeypatch.setattr(model_token_splitter, "SEGMENT_CHARS", 3000)
    monkeypatch.setattr(model_token_splitter, "SEGMENT_CONTEXT", 300)
    segmented = [(p.meta["split_idx_start"], p.content) for p in splitter.stream([source])]
    assert len(whole) > 10 and segmented == whole
    assert all(content.startswith(f"{TITLE} ") for _, content in whole)


def test_the_batch_job_writes_a_huge_documents_passages_while_it_is_cut(monkeypatch):
    """The job holds one group of passages, not the document's: writes start before the document is cut."""
    monkeypatch.setattr(model_token_splitter, "SEGMENT_CHARS", 3000)
    components = indexing_components(model=TINY, cluster_encodes=True)
    cut = []
    stream = components.splitter.stream
    monkeypatch.setattr(components.splitter, "stream", lambda docs: (cut.append(p) or p for p in stream(docs)))
    cut_when_written = []

    class Sink:
        def stored_ids(self, ids):
            return set()

        def write(self, documents):
            cut_when_written.append(len(cut))
            return len(documents)

    summary = job.index_documents(
        [Document(content=LONG * 40)], Sink(), components=components, group_size=8, progress_bar=False
    )
    assert summary.passages_written == len(cut) > 100
    assert cut_when_written[0] < 20  # the first group was written after ~8 passages were cut, not all of them
