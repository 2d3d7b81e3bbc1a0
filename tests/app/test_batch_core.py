"""The rules both indexing engines share (``app/batch/core.py``): which passages to embed and which to write."""

from haystack import Document

from opensearch_pretrained_haystack.app.batch.core import embedded_passages, new_passages


def test_new_passages_skip_what_is_stored_and_keep_one_of_each_repeated_id():
    a, b, c = Document(id="a", content="A"), Document(id="b", content="B"), Document(id="c", content="C")
    new, skipped = new_passages([a, b, a, c, b], stored={"c"})
    assert [p.id for p in new] == ["a", "b"] and skipped == 3


def test_a_passage_with_content_and_no_vector_failed_but_one_without_content_is_written():
    vector = Document(id="v", content="text", embedding=[0.1])
    lost = Document(id="l", content="text")
    empty = Document(id="e", content="")
    kept, failed = embedded_passages([vector, lost, empty])
    assert [p.id for p in kept] == ["v", "e"] and failed == 1
    kept, failed = embedded_passages([vector, lost, empty], vectors_expected=False)  # the cluster encodes at ingest
    assert [p.id for p in kept] == ["v", "l", "e"] and failed == 0


def test_neither_engine_imports_the_other():
    import ast
    from pathlib import Path

    import opensearch_pretrained_haystack.app.batch as batch

    folder = Path(batch.__file__).parent
    for module, other in (("ray_engine", "job"), ("core", "job"), ("core", "ray_engine")):
        tree = ast.parse((folder / f"{module}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert f"opensearch_pretrained_haystack.app.batch.{other}" not in imported, (module, other)
