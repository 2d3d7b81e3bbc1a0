"""Errors of the test node: one class per thing a user can fix differently."""

from opensearch_pretrained_haystack.errors import OpenSearchPretrainedError


class NodeError(OpenSearchPretrainedError):
    """The test node could not be provisioned, started, or stopped."""


class PrerequisiteError(NodeError):
    """A tool the node needs (Java 17+, Maven) is missing: install it, or point OPENSEARCH_URL at a running cluster."""
