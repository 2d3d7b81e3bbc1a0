"""The top-level names the README imports."""

import pytest


@pytest.mark.parametrize(
    "name",
    [
        "LocalOnnxEmbedder",
        "OpenSearchMLEmbedder",
        "verify_parity",
        "catalog",
        "fetch_artifact",
        "LocalOnnxTextEmbedder",
    ],
)
def test_top_level_names_of_the_readme_import(name: str) -> None:
    import opensearch_pretrained_haystack

    assert getattr(opensearch_pretrained_haystack, name) is not None


def test_all_is_the_lazy_table_and_the_type_checking_mirror_and_every_component():
    import ast
    import importlib
    import inspect

    import opensearch_pretrained_haystack as package

    tree = ast.parse(inspect.getsource(package))
    mirrored = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
        for statement in node.body
        if isinstance(statement, ast.ImportFrom)
        for alias in statement.names
    }
    eager = {"catalog", "OpenSearchPretrainedError"}
    assert mirrored == set(package._LAZY) and set(package.__all__) == mirrored | eager
    for name in package.__all__:  # each lazy name is the object at its home
        assert getattr(package, name) is not None
    components = {
        name
        for sub in ("embedders", "extractors", "preprocessors", "rankers", "retrievers")
        for name in importlib.import_module(f"haystack_integrations.components.{sub}.opensearch_pretrained").__all__
    }
    assert len(components) == 24 and components <= set(package.__all__)


def _type_checking_imports(source: str) -> dict[str, str]:
    """Name → module (its last dotted part) of every import under ``if TYPE_CHECKING:``."""
    import ast

    return {
        alias.asname or alias.name: (statement.module or "").rsplit(".", 1)[-1]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
        for statement in node.body
        if isinstance(statement, ast.ImportFrom)
        for alias in statement.names
    }


@pytest.mark.parametrize("sub", ["embedders", "extractors", "rankers", "retrievers"])
def test_each_lazy_component_package_mirrors_its_table_in_all_and_type_checking(sub: str) -> None:
    import importlib
    import inspect

    package = importlib.import_module(f"haystack_integrations.components.{sub}.opensearch_pretrained")
    table = getattr(package, "_MODULES", None) or package._LAZY
    assert _type_checking_imports(inspect.getsource(package)) == table  # same names, from the same modules
    assert sorted(package.__all__) == sorted(table)
    for name in package.__all__:  # each name is importable from its module and is that class
        assert getattr(package, name).__name__ == name


@pytest.mark.parametrize(
    "path",
    [
        "haystack_integrations.components.preprocessors.opensearch_pretrained",
        "haystack_integrations.document_stores.opensearch_pretrained",
    ],
)
def test_each_eager_package_exports_what_all_names(path: str) -> None:
    import importlib

    package = importlib.import_module(path)
    assert package.__all__ and all(getattr(package, name).__name__ == name for name in package.__all__)
