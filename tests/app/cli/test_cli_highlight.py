"""`search --highlight MODEL_ID|ALIAS`: the evidence sentences of each found document, locally or in the cluster."""

import pytest
from haystack import Document

from haystack_integrations.components.extractors.opensearch_pretrained import LocalSemanticHighlighter
from opensearch_pretrained_haystack.app.batch import Target, index_into
from opensearch_pretrained_haystack.app.batch.query import Highlight, search
from opensearch_pretrained_haystack.app.cli.main import main
from opensearch_pretrained_haystack.catalog import get_model
from tests.highlighting.fixture import HIGHLIGHTER_DIR, deployed_highlighter, server_version

MINILM = get_model("all-MiniLM-L6-v2", "1.0.1")
QUERY = "Where do the men play soccer?"
TEXTS = [
    "A group of men play soccer on the beach. The sun is bright today. Two dogs are running along the water.",
    "Risotto needs arborio rice. Stock is added slowly. It takes twenty minutes.",
    "OpenSearch is a search engine. It runs on the JVM.",
]


def documents() -> list[Document]:
    return [Document(id=f"d{n}", content=text) for n, text in enumerate(TEXTS)]


@pytest.fixture
def store(tmp_path):  # type: ignore[no-untyped-def]
    target = Target(store_path=tmp_path / "store.sqlite")
    index_into(target, MINILM, documents(), progress_bar=False)
    return target


def evidence(out: str) -> dict[str, list[str]]:
    """Printed result ids with the evidence lines under each."""
    found: dict[str, list[str]] = {}
    lines: list[str] = []
    for line in out.splitlines():
        if line.startswith("\t» "):
            lines.append(line[3:])
        else:
            lines = found[line.split("\t")[1]] = []
    return found


def test_the_embedded_store_s_search_highlights_locally(store, capsys) -> None:  # type: ignore[no-untyped-def]
    found = search(QUERY, store, MINILM, top_k=2, highlight=Highlight(str(HIGHLIGHTER_DIR)))
    plain = search(QUERY, store, MINILM, top_k=2)
    expected = LocalSemanticHighlighter(model=str(HIGHLIGHTER_DIR)).run(query=QUERY, documents=plain)["documents"]
    assert found == expected and all("semantic_highlights" in d.meta for d in found)
    argv = ["search", QUERY, "--store", str(store.store_path), "--top-k", "2", "--model-version", "1.0.1"]
    assert main([*argv, "--highlight", str(HIGHLIGHTER_DIR)]) == 0
    printed = evidence(capsys.readouterr().out)
    assert printed == {d.id: [h["text"] for h in d.meta["semantic_highlights"]] for d in found}
    assert main([*argv, "--highlight", "not-a-model"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.endswith("--highlight not-a-model is neither a catalog highlighter nor a model directory; a "
                          "highlighter deployed in a cluster needs --opensearch URL.")  # fmt: skip
    assert len(error.splitlines()) == 1


@pytest.mark.integration
def test_search_highlights_in_the_cluster_like_locally(opensearch_url, index_name, capsys) -> None:  # type: ignore[no-untyped-def]
    if server_version(opensearch_url) < (3, 0, 0):
        return  # 2.x cannot run the highlighter: its refusal is tested with the uploader
    target = Target(hosts=opensearch_url, index=index_name, replicas=0)
    index_into(target, MINILM, documents(), progress_bar=False)
    argv = ["search", QUERY, "--opensearch", opensearch_url, "--index", index_name, "--model-version", "1.0.1"]
    assert main([*argv, "--highlight", deployed_highlighter(opensearch_url)]) == 0
    cluster = evidence(capsys.readouterr().out)
    assert main([*argv, "--highlight", str(HIGHLIGHTER_DIR)]) == 0
    assert cluster == evidence(capsys.readouterr().out) and any(cluster.values())
