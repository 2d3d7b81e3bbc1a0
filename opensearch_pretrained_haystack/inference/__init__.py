"""Local inference: the artifact's tokenizer, ONNX Runtime, and ML Commons' pooling."""

from opensearch_pretrained_haystack.artifacts import resolve_artifact
from opensearch_pretrained_haystack.inference.onnx_embedder import LocalOnnxEmbedder, available_cpus

__all__ = ["LocalOnnxEmbedder", "available_cpus", "resolve_artifact"]
