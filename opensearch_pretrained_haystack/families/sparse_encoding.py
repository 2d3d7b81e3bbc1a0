"""
Neural sparse encoding (ML Commons' SPARSE_ENCODING): ``{token: weight}`` maps from a learned encoder.

Published as TORCH_SCRIPT only (an ONNX export is fed as a text-embedding graph); encoded in the cluster
(``OpenSearchMLSparseEncoder``); indexed as a ``rank_features`` field with a sparse ingest pipeline.
"""

from opensearch_pretrained_haystack.families.family import Family, inputs_by_model_type

FAMILY = Family(
    task_type="SPARSE_ENCODING",
    label="sparse encoder",
    onnx_inputs=inputs_by_model_type,
    predict_call="opensearch_pretrained_haystack.cluster.sparse_operations:predict_sparse",
    index_builder="opensearch_pretrained_haystack.indices.sparse:sparse_document_store",
)
