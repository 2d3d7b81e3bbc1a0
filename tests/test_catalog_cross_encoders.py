import json

from opensearch_pretrained_haystack import catalog
from opensearch_pretrained_haystack.app.cli.main import main

BASE = "https://artifacts.opensearch.org/models/ml-models/huggingface/cross-encoders"


def test_both_cross_encoders_in_every_published_version_and_format():
    found = {(m.alias, m.version): m for m in catalog.list_models() if m.family == "cross-encoders"}
    assert set(found) == {
        (f"ms-marco-MiniLM-L-{layers}-v2", version) for layers in (6, 12) for version in ("1.0.0", "1.0.1", "1.0.2")
    }
    for model in found.values():
        assert (model.task_type, model.formats, model.dimension, model.max_tokens, model.model_type) == (
            "TEXT_SIMILARITY",
            ("ONNX", "TORCH_SCRIPT"),
            1,
            512,
            "bert",
        )


def test_cross_encoder_urls_follow_the_published_rule():
    model = catalog.get_model("ms-marco-MiniLM-L-6-v2")
    assert model.version == "1.0.2"
    assert model.artifact_url("ONNX") == (
        f"{BASE}/ms-marco-MiniLM-L-6-v2/1.0.2/onnx/cross-encoders_ms-marco-MiniLM-L-6-v2-1.0.2-onnx.zip"
    )
    assert (
        catalog.get_model("huggingface/cross-encoders/ms-marco-MiniLM-L-12-v2", "1.0.0").artifact_url("torch_script")
        == f"{BASE}/ms-marco-MiniLM-L-12-v2/1.0.0/torch_script/"
        "cross-encoders_ms-marco-MiniLM-L-12-v2-1.0.0-torch_script.zip"
    )
    assert model.config_url("ONNX") == f"{BASE}/ms-marco-MiniLM-L-6-v2/1.0.2/onnx/config.json"


def test_embedders_keep_their_family_and_task_type():
    minilm = catalog.get_model("all-MiniLM-L6-v2", "1.0.1")
    assert (minilm.family, minilm.task_type) == ("sentence-transformers", "TEXT_EMBEDDING")


def test_models_command_shows_the_family(capsys):
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    families = {"sentence-transformers", "cross-encoders", "neural-sparse", "sentence-highlighting"}
    assert {r["family"] for r in rows} == families
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[0] == "family"
    cross = [line.split() for line in lines if "ms-marco-MiniLM-L-12-v2" in line]
    assert len(cross) == 3
    assert all(row[:2] == ["cross-encoders", "reranker"] and row[6:] == ["-", "-", "512", "-"] for row in cross)
