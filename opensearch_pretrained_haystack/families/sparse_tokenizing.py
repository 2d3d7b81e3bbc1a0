"""
Neural sparse tokenizing (ML Commons' SPARSE_TOKENIZE): a query's tokens weighted by the artifact's idf.

The zip holds no model file (tokenizer.json and idf.json only), so there is no graph to feed; locally
``SparseTokenizer``; in the cluster the same sparse predict call as the encoders.
"""

from opensearch_pretrained_haystack.families.family import Family

FAMILY = Family(
    task_type="SPARSE_TOKENIZE",
    label="sparse tokenizer",
    onnx_inputs=None,
    needs_model_file=False,
    local_runner="opensearch_pretrained_haystack.inference.sparse_tokenizer:SparseTokenizer",
    predict_call="opensearch_pretrained_haystack.cluster.sparse_operations:predict_sparse",
    index_builder="opensearch_pretrained_haystack.indices.sparse:sparse_document_store",
)
