"""The semantic sentence highlighter family (`amazon/sentence-highlighting/opensearch-semantic-highlighter-v1`):
its ML Commons rules (`family`), ML Commons' sentence segmentation (`sentences`) and chunking (`chunks`), the
cluster's predict call (`remote`) and the TorchScript module run locally (`local`, needs the `torch` extra)."""
