"""Preprocessors that size passages by the pretrained model's own tokenizer and token limit."""

from haystack_integrations.components.preprocessors.opensearch_pretrained.model_token_splitter import (
    ModelTokenSplitter,
)

__all__ = ["ModelTokenSplitter"]
