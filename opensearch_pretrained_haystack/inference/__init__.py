"""Local inference: the artifact's tokenizer, ONNX Runtime, and ML Commons' pooling."""

from opensearch_pretrained_haystack.inference.onnx_embedder import LocalOnnxEmbedder, resolve_artifact

__all__ = ["LocalOnnxEmbedder", "resolve_artifact"]
