"""
Model families, one module each.

Dense embedding, text similarity (cross-encoders), sparse encoding, sparse tokenizing and sentence highlighting. Each
module's ``FAMILY`` holds the family's rules (see ``family.Family``); everything else looks a family up with
``family_of(task_type)`` instead of testing task-type strings.

Adding a family: its module here (and its line in ``FAMILIES``), its runner / predict call / index builder where
their kind lives, its components, its tests.
"""

from opensearch_pretrained_haystack.families import (
    dense_embedding,
    sentence_highlighting,
    sparse_encoding,
    sparse_tokenizing,
    text_similarity,
)
from opensearch_pretrained_haystack.families.family import Family, family_of, inputs_by_model_type

FAMILIES: tuple[Family, ...] = (
    dense_embedding.FAMILY,
    text_similarity.FAMILY,
    sparse_encoding.FAMILY,
    sparse_tokenizing.FAMILY,
    sentence_highlighting.FAMILY,
)

__all__ = ["FAMILIES", "Family", "family_of", "inputs_by_model_type"]
