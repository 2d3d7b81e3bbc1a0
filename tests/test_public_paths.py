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
