import json

import numpy as np
import pytest

from opensearch_pretrained_haystack.app.cli.main import main
from opensearch_pretrained_haystack.inference import LocalOnnxEmbedder
from tests.conftest import TESTING


def test_models_lists_every_catalog_version(capsys):
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"alias": "multi-qa-mpnet-base-dot-v1", "dimension": 768}.items() <= next(
        r for r in rows if r["alias"] == "multi-qa-mpnet-base-dot-v1"
    ).items()
    assert main(["models"]) == 0
    assert "all-MiniLM-L6-v2" in capsys.readouterr().out


def test_download_prints_the_verified_cached_path(capsys, tmp_path):
    assert main(["download", "all-MiniLM-L6-v2", "--model-version", "1.0.1", "--cache-dir", str(tmp_path)]) == 0
    path = capsys.readouterr().out.strip().splitlines()[-1]
    assert path.startswith(str(tmp_path)) and path.endswith("-onnx.zip")


def test_embed_prints_json_vectors_equal_to_the_library(capsys):
    assert main(["embed", str(TESTING / "tiny-bert-mean"), "hello", "world", "--prefix", "q: "]) == 0
    output = json.loads(capsys.readouterr().out)
    expected = LocalOnnxEmbedder(str(TESTING / "tiny-bert-mean")).embed(["q: hello", "q: world"])
    assert output["dimension"] == 32
    np.testing.assert_allclose(output["embeddings"], expected, atol=1e-6)


def test_user_mistakes_are_one_line_and_a_nonzero_exit(capsys):
    assert main(["embed", "all-MiniLM-L6", "x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: No pretrained model named 'all-MiniLM-L6'") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_help_works_for_every_subcommand(capsys):
    for command in ("models", "download", "embed", "node"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: opensearch-pretrained" in capsys.readouterr().out


def test_embed_with_the_torch_script_artifact_prints_the_same_json_as_with_onnx(capsys):
    texts = ["OpenSearch is a search engine.", "Bananas are yellow."]
    outputs = []
    for model_format in ("ONNX", "TORCH_SCRIPT"):
        assert main(["embed", "all-MiniLM-L6-v2", *texts, "--model-version", "1.0.1", "--format", model_format]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    onnx, torch_script = outputs
    assert {k: v for k, v in onnx.items() if k != "embeddings"} == {
        k: v for k, v in torch_script.items() if k != "embeddings"
    }
    np.testing.assert_allclose(torch_script["embeddings"], onnx["embeddings"], atol=1e-5)


def test_embed_without_torch_is_one_line_saying_what_to_install(capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "torch", None)
    assert main(["embed", "all-MiniLM-L6-v2", "x", "--model-version", "1.0.1", "--format", "TORCH_SCRIPT"]) != 0
    err = capsys.readouterr().err
    assert "pip install 'opensearch-pretrained-haystack[torch]'" in err and len(err.strip().splitlines()) == 1
