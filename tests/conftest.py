"""Shared pytest fixtures."""

import atexit
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from opensearch_pretrained_haystack.node import DEFAULT_VERSION, PROFILES, PrerequisiteError, TestNode

# Haystack reads this when it is first imported: tests run offline, so no pipeline may try to send telemetry.
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

# --- Team data and an isolated artifact cache ---------------------------------------------------------------

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MIRROR = SHARED / "mirror"
TESTING = SHARED / "testing"
REFERENCE = SHARED / "reference" / "all-MiniLM-L6-v2-1.0.1"


@pytest.fixture(scope="session", autouse=True)
def offline_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test reads artifacts from ../shared/mirror into a fresh cache: no test ever reaches the internet."""
    cache = tmp_path_factory.mktemp("artifact-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENSEARCH_PRETRAINED_MIRROR", str(MIRROR))
        patch.setenv("OPENSEARCH_PRETRAINED_CACHE", str(cache))
        yield cache


# --- OpenSearch test node (issues 3 and 9) --------------------------------------------------------------------

VERSION_ENV = "OPENSEARCH_TEST_VERSION"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--opensearch-version",
        choices=list(PROFILES),
        default=None,
        help=f"version of the local test node the integration tests start (default: ${VERSION_ENV}, "
        f"else {DEFAULT_VERSION}); ignored when OPENSEARCH_URL is set",
    )


def requested_opensearch_version(config: pytest.Config) -> str:
    """--opensearch-version, else $OPENSEARCH_TEST_VERSION, else the test node's default version."""
    version = config.getoption("--opensearch-version") or os.environ.get(VERSION_ENV) or DEFAULT_VERSION
    if version not in PROFILES:
        raise pytest.UsageError(f"${VERSION_ENV}={version} is not a test node version; use one of {list(PROFILES)}")
    return version


@pytest.fixture(scope="session")
def opensearch_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a real OpenSearch (3.6.0 or 2.19.1) with k-NN, ML Commons and neural-search.

    $OPENSEARCH_URL (your own cluster) wins; otherwise the local test node of the requested version is started
    for the session and stopped at its end (a node that was already running is reused and left running).
    Without Java or Maven the integration tests are skipped, except under CI=true, where that is a failure.
    """
    own_cluster = os.environ.get("OPENSEARCH_URL")
    if own_cluster:
        yield own_cluster.rstrip("/")
        return
    node = TestNode(version=requested_opensearch_version(request.config))
    if node.status() is not None:
        yield node.start()
        return
    atexit.register(node.stop)  # also stops the node when the session dies without running finalizers
    try:
        try:
            url = node.start()
        except PrerequisiteError as error:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"CI=true needs a cluster for integration tests, but: {error}")
            pytest.skip(f"no OpenSearch for integration tests (set OPENSEARCH_URL or install it): {error}")
        yield url
    finally:
        node.stop()
        atexit.unregister(node.stop)


# --- A throw-away index on the test node (issue 5) ----------------------------------------------------------


@pytest.fixture
def index_name(opensearch_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A unique index name for one test; the index (if the test created one) is deleted afterwards."""
    import re
    import uuid

    from opensearchpy import OpenSearch

    name = f"test-{re.sub('[^a-z0-9_-]+', '-', request.node.name[:40].lower())}-{uuid.uuid4().hex[:8]}"
    yield name
    OpenSearch(hosts=opensearch_url).indices.delete(index=name, ignore_unavailable=True)


# --- all-MiniLM-L6-v2 deployed once per session (issue 5) ---------------------------------------------------


@pytest.fixture(scope="session")
def minilm_model_id(opensearch_url: str) -> str:
    """all-MiniLM-L6-v2 1.0.1 ONNX deployed on the test node from ../shared/mirror (reused if already there)."""
    from haystack_integrations.components.embedders.opensearch_pretrained.model_uploader import (
        PretrainedModelUploader,
    )

    uploader = PretrainedModelUploader(opensearch_url, "all-MiniLM-L6-v2", "1.0.1", source="client", mirror=str(MIRROR))
    return uploader.run()["model_id"]
