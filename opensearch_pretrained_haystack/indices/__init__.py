"""
OpenSearch indices and pipelines built for a catalog model.

The k-NN index (``knn``), the neural ingest and hybrid search pipelines (``neural``), neural sparse indices and
pipelines (``sparse``) and the rerank search pipeline (``rerank``). Each refuses, before anything is written, an index
or cluster model that does not fit the model.
"""
