"""The highlighter run locally: the node's exact answers wherever the node answers soundly, and a correct answer
where it fails or corrupts its answer (each difference pinned here; README "Semantic highlighting")."""

import json
import zipfile
from functools import cache
from pathlib import Path

import pytest
import torch

from opensearch_pretrained_haystack.artifacts import load_model_dir
from opensearch_pretrained_haystack.highlighting.local import TorchScriptHighlighter
from opensearch_pretrained_haystack.highlighting.remote import node_response
from opensearch_pretrained_haystack.inference.torchscript import shared_script_model
from tests.highlighting.fixture import CORRUPTED, HIGHLIGHTER_DIR, NODE_FAILS, answered, node_check, references


@cache
def highlighter() -> TorchScriptHighlighter:
    artifact = load_model_dir(HIGHLIGHTER_DIR)
    return TorchScriptHighlighter(artifact, shared_script_model(artifact).value)


def answer(pair: dict):  # type: ignore[no-untyped-def]
    [result] = highlighter().highlight(pair["question"], [pair["context"]])
    return result


def test_the_node_s_exact_response_for_every_pair_it_answers() -> None:
    pairs = answered()
    assert len(pairs) == 17
    for pair in pairs:
        result = answer(pair)
        assert result.mapping == "words", pair["name"]
        # Byte for byte: values, UTF-16 offsets, "@@@" texts, doubles and key order.
        assert json.dumps(node_response(result.sentences)) == json.dumps(pair["node"]["body"]), pair["name"]


def test_abbreviations_same_sentences_true_text_and_offsets() -> None:
    for pair in answered():
        result = answer(pair)
        context = pair["context"]
        assert all(context[s.start : s.end].strip() == s.text for s in result.sentences), pair["name"]
        corrupted = [s for s in result.sentences if (s.node_text, s.node_start, s.node_end) != (s.text, s.start, s.end)]
        if pair["name"] in CORRUPTED:
            assert corrupted and all("@@@" not in s.text for s in result.sentences)
        elif pair["name"] != "emoji-utf16":  # the node counts UTF-16 units, Python characters
            assert corrupted == [], pair["name"]
    [abbreviations] = [pair for pair in references() if pair["name"] == "abbreviations"]
    [third] = answer(abbreviations).sentences
    assert (third.node_start, third.node_end, len(abbreviations["context"])) == (76, 106, 104)  # past the end
    assert (third.start, third.end, third.text) == (74, 104, "They talked about the results.")


def test_an_answer_where_the_node_fails_on_its_word_map() -> None:
    failing = {pair["name"]: pair for pair in references() if pair["node"]["status"] != 200}
    assert {name: pair["node"]["status"] for name, pair in failing.items()} == NODE_FAILS
    cjk = answer(failing["long-cjk-no-spaces"])  # node: HTTP 500, min() of an empty tensor
    assert cjk.mapping == "offsets"
    assert [(s.position, s.start, s.end) for s in cjk.sentences] == [
        (0, 0, len(failing["long-cjk-no-spaces"]["context"]))
    ]
    assert answer(failing["whitespace-only-context"]).sentences == []  # node: HTTP 500; no sentence to highlight
    assert answer(failing["empty-context"]).sentences == []  # node: HTTP 400 "Context is not provided"


def test_long_text_the_node_drops_a_chunk_of_is_answered_over_every_chunk() -> None:
    context = " ".join(f"Claim {i}: (a) x-y; [b] p/q, r." for i in range(120))  # many tokenizer words per space
    result = highlighter().highlight("Which claim?", [context])[0]
    assert result.mapping == "offsets"
    assert result.sentences and all(context[s.start : s.end].strip() == s.text for s in result.sentences)
    assert max(s.position for s in result.sentences) > 60  # sentences of the later chunks are read too


class SelectsNothing(torch.nn.Module):
    def forward(self, input_ids, attention_mask, token_type_ids, sentence_ids):  # type: ignore[no-untyped-def]
        return (sentence_ids[0][:0],)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
def test_a_model_that_selects_nothing_loads_and_answers_nothing(tmp_path: Path) -> None:
    assert node_check()["select_none_model"]["model_state"] == "DEPLOY_FAILED"  # the node cannot even deploy it
    with zipfile.ZipFile(HIGHLIGHTER_DIR / "tiny-semantic-highlighter-1.0.0-torch_script.zip") as source:
        tokenizer = source.read("tokenizer.json")
    torch.jit.script(SelectsNothing()).save(str(tmp_path / "none.pt"))
    with zipfile.ZipFile(tmp_path / "none.zip", "w") as archive:
        archive.write(tmp_path / "none.pt", "none.pt")
        archive.writestr("tokenizer.json", tokenizer)
    config = json.loads((HIGHLIGHTER_DIR / "config.json").read_text("utf-8"))
    for key in ("model_content_size_in_bytes", "model_content_hash_value"):
        config.pop(key)
    (tmp_path / "none.pt").unlink()
    (tmp_path / "config.json").write_text(json.dumps({**config, "name": "select-none"}))
    artifact = load_model_dir(tmp_path, cache_dir=tmp_path / "cache")
    lease = shared_script_model(artifact)
    model = TorchScriptHighlighter(artifact, lease.value)
    [result] = model.highlight("How is the weather?", ["The weather is nice. The sun is shining."])
    assert result.sentences == []
    lease.release()


def test_a_question_too_long_for_the_chunks_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="question is too long"):
        highlighter().highlight(" ".join(["word"] * 400), ["A short context."])
