"""
Text similarity (ML Commons' TEXT_SIMILARITY): cross-encoders scoring (query, document) pairs.

``TextSimilarityTranslator`` always sends ``input_ids``, ``attention_mask`` and ``token_type_ids``, whatever the
model type (a cross-encoder labelled distilbert included); locally ``LocalOnnxCrossEncoder``; in the cluster the
``query_text``/``text_docs`` call; in an index, a rerank search pipeline.
"""

from opensearch_pretrained_haystack.families.family import Family

PAIR_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
"""What TextSimilarityTranslator always sends, whatever the model type."""

FAMILY = Family(
    task_type="TEXT_SIMILARITY",
    label="reranker",
    catalog_role="reranker",
    onnx_inputs=lambda model_type: PAIR_INPUTS,
    local_runner="opensearch_pretrained_haystack.inference.cross_encoder:LocalOnnxCrossEncoder",
    predict_call="opensearch_pretrained_haystack.cluster.text_similarity:predict_similarity",
    index_builder="opensearch_pretrained_haystack.indices.rerank:create_rerank_search_pipeline",
    mismatch_hint="Re-export it with all three.",
)
