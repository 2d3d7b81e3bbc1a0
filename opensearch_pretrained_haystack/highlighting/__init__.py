"""
The semantic sentence highlighter (`amazon/sentence-highlighting/opensearch-semantic-highlighter-v1`).

Its rules are the family module `families.sentence_highlighting`: ML Commons' sentence segmentation (`sentences`) and
chunking (`chunks`), the cluster's predict call (`remote`), the TorchScript module run locally (`local`, the `torch`
extra), highlights in search hits (`search`) and in documents (`documents`).
"""
