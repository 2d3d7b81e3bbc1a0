"""
Dense text embedding (ML Commons' TEXT_EMBEDDING): sentence transformers, one vector per text.

ONNX inputs by ML Commons' text-embedding rule (``token_type_ids`` only for bert/albert); locally
``LocalOnnxEmbedder``; in the cluster ``OpenSearchMLEmbedder``'s ``text_docs`` call; indexed as k-NN vectors.
"""

from opensearch_pretrained_haystack.families.family import Family, inputs_by_model_type

FAMILY = Family(
    task_type="TEXT_EMBEDDING",
    label="embedder",
    onnx_inputs=inputs_by_model_type,
    pools=True,
    local_runner="opensearch_pretrained_haystack.inference.onnx_embedder:LocalOnnxEmbedder",
    predict_call="opensearch_pretrained_haystack.cluster.operations:predict",
    index_builder="opensearch_pretrained_haystack.indices.knn:document_store_for",
)
