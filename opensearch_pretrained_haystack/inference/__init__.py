"""Local inference: the artifact's tokenizer, ONNX Runtime, and ML Commons' pooling."""

from opensearch_pretrained_haystack.artifacts import resolve_artifact
from opensearch_pretrained_haystack.inference.onnx_embedder import LocalOnnxEmbedder
from opensearch_pretrained_haystack.inference.runner import available_cpus

__all__ = ["LocalOnnxEmbedder", "available_cpus", "resolve_artifact"]
