import asyncio
import hashlib
import json
import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest
from haystack import Document, Pipeline

from haystack_integrations.components.rankers.opensearch_pretrained import LocalOnnxRanker
from opensearch_pretrained_haystack.artifacts.unpack import check_zip
from opensearch_pretrained_haystack.inference.cross_encoder import LocalOnnxCrossEncoder
from tests.conftest import TESTING

TINY = str(TESTING / "tiny-cross-encoder" / "onnx")
PAIRS = json.loads((TESTING / "tiny-cross-encoder" / "pairs.json").read_text("utf-8"))
PASSAGES = sorted({p["passage"] for p in PAIRS if p["passage"]})
QUERY = "A man is playing a guitar."


@pytest.fixture(scope="module")
def engine() -> LocalOnnxCrossEncoder:
    return LocalOnnxCrossEncoder(TINY, progress_bar=False)


@pytest.fixture(scope="module")
def ranker() -> LocalOnnxRanker:
    ranker = LocalOnnxRanker(model=TINY, top_k=100)
    ranker.warm_up()
    return ranker


def test_init_is_light_keyword_only_and_warm_up_is_idempotent():
    assert LocalOnnxRanker(model="no-such-model-is-ever-loaded-in-init")._encoder is None
    with pytest.raises(TypeError):
        LocalOnnxRanker(TINY)  # type: ignore[misc]
    ranker = LocalOnnxRanker(model=TINY)
    ranker.warm_up()
    first = ranker._encoder
    ranker.warm_up()
    assert ranker._encoder is first
    ranker.close()
    assert ranker._encoder is None
    ranker.close()  # safe twice


def test_documents_are_new_objects_sorted_by_the_raw_logit(ranker, engine):
    docs = [Document(content=text) for text in PASSAGES]
    ranked = ranker.run(query=QUERY, documents=docs)["documents"]
    expected = engine.score(QUERY, PASSAGES)
    assert sorted(d.score for d in ranked) == pytest.approx(sorted(expected.tolist()), abs=1e-6)
    assert [d.score for d in ranked] == sorted((d.score for d in ranked), reverse=True)
    assert all(d.score is None for d in docs)
    assert {d.id for d in ranked} == {d.id for d in docs} and not {id(d) for d in ranked} & {id(d) for d in docs}


def test_top_k_threshold_and_scale_score_with_run_overrides(ranker, engine):
    docs = [Document(content=text) for text in PASSAGES]
    logits = np.sort(engine.score(QUERY, PASSAGES))[::-1]
    assert len(ranker.run(query=QUERY, documents=docs, top_k=3)["documents"]) == 3
    kept = ranker.run(query=QUERY, documents=docs, score_threshold=float(logits[4]))["documents"]
    assert len(kept) == 5
    scaled = ranker.run(query=QUERY, documents=docs, scale_score=True)["documents"]
    assert [d.score for d in scaled] == pytest.approx((1 / (1 + np.exp(-logits.astype(np.float64)))).tolist())
    assert [d.id for d in scaled] == [d.id for d in ranker.run(query=QUERY, documents=docs)["documents"]]
    with pytest.raises(ValueError, match="top_k"):
        ranker.run(query=QUERY, documents=docs, top_k=0)
    with pytest.raises(ValueError, match="top_k"):
        LocalOnnxRanker(model=TINY, top_k=0)


def test_query_and_document_text_preparation(ranker, engine):
    custom = LocalOnnxRanker(
        model=TINY,
        query_prefix="q: ",
        query_suffix=" ?",
        document_prefix="d: ",
        document_suffix=" .",
        meta_fields_to_embed=["title", "missing", "none"],
        embedding_separator=" | ",
    )
    doc = Document(content="body", meta={"title": "Title", "none": None})
    (ranked,) = custom.run(query="hello", documents=[doc])["documents"]
    assert ranked.score == pytest.approx(float(engine.score("q: hello ?", ["d: Title | body ."])[0]), abs=1e-6)


def test_documents_without_content_come_last_unscored_counted_and_never_dropped(ranker, caplog):
    empty = [Document(content=None, meta={"kind": "image"}), Document(content="")]
    docs = [Document(content=PASSAGES[0]), empty[0], Document(content=PASSAGES[1]), empty[1]]
    with caplog.at_level(logging.WARNING):
        ranked = ranker.run(query=QUERY, documents=docs, top_k=1, score_threshold=-1e9)["documents"]
    assert [d.id for d in ranked[1:]] == [d.id for d in empty] and all(d.score is None for d in ranked[1:])
    assert ranked[0].score is not None and len(ranked) == 3
    assert "2 document(s) have no content" in caplog.text and empty[0].id in caplog.text


def test_empty_input_and_wrong_types():
    ranker = LocalOnnxRanker(model=TINY)
    assert ranker.run(query="q", documents=[]) == {"documents": []}
    with pytest.raises(TypeError, match="list of Documents"):
        ranker.run(query="q", documents="text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="query as a string"):
        ranker.run(query=["q"], documents=[])  # type: ignore[arg-type]


def test_run_async_equals_run(ranker):
    docs = [Document(content=text) for text in PASSAGES]
    assert asyncio.run(ranker.run_async(query=QUERY, documents=docs, top_k=4)) == ranker.run(
        query=QUERY, documents=docs, top_k=4
    )


def test_to_dict_from_dict_and_yaml_round_trip_with_haystacks_default_loader():
    ranker = LocalOnnxRanker(model=TINY, top_k=5, scale_score=True, meta_fields_to_embed=["title"])
    data = ranker.to_dict()
    assert (
        data["type"]
        == "haystack_integrations.components.rankers.opensearch_pretrained.local_onnx_ranker.LocalOnnxRanker"
    )
    assert data["init_parameters"]["top_k"] == 5 and data["init_parameters"]["scale_score"] is True
    assert LocalOnnxRanker.from_dict(data).to_dict() == data
    pipeline = Pipeline()
    pipeline.add_component("ranker", ranker)
    loaded = Pipeline.loads(pipeline.dumps())  # no allowed_modules, no unsafe=True
    assert loaded.dumps() == pipeline.dumps()


def test_a_zip_with_backslash_entry_names_runs_locally_as_the_node_deploys_it(tmp_path, engine):
    """Zips made on Windows name entries model\\model.onnx: ML Commons reads a backslash as a folder, and so do the
    upload checks and the local unpacking (one rule), so the local ranker scores as the original."""
    source = next(Path(TINY).glob("*.zip"))
    folder = tmp_path / "windows"
    folder.mkdir()
    target = folder / source.name
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in original.infolist():
            if not info.is_dir():
                copy.writestr("tiny\\" + Path(info.filename).name, original.read(info))
    config = json.loads((Path(TINY) / "config.json").read_text())
    config["model_content_size_in_bytes"] = target.stat().st_size
    config["model_content_hash_value"] = hashlib.sha256(target.read_bytes()).hexdigest()
    (folder / "config.json").write_text(json.dumps(config))
    check_zip(target)  # what an upload passes first
    windows = LocalOnnxCrossEncoder(str(folder), cache_dir=str(tmp_path / "cache"), progress_bar=False)
    assert windows.score(QUERY, PASSAGES).tolist() == engine.score(QUERY, PASSAGES).tolist()
    windows.close()


def test_a_nan_score_threshold_is_refused_not_used_to_drop_every_document(ranker):
    with pytest.raises(ValueError, match="score_threshold is NaN"):
        LocalOnnxRanker(model=TINY, score_threshold=float("nan"))
    with pytest.raises(ValueError, match="score_threshold is NaN"):
        ranker.run(query=QUERY, documents=[Document(content=PASSAGES[0])], score_threshold=float("nan"))


def test_a_lone_surrogate_is_one_clear_error_naming_where_it_is(ranker):
    with pytest.raises(ValueError, match=r"LocalOnnxRanker: the query holds a lone surrogate \\ud800"):
        ranker.run(query="guitar \ud800", documents=[Document(content=PASSAGES[0])])
    with pytest.raises(ValueError, match=r"document bad holds a lone surrogate \\udc00"):
        ranker.run(query=QUERY, documents=[Document(content=PASSAGES[0]), Document(id="bad", content="a \udc00 b")])
