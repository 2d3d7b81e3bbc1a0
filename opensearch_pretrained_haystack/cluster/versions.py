"""
Every difference between ML Commons server versions, in one place.

Sources: `../shared/docs/ml-commons-api.md` §1, §3–§5 and §8.
- < 2.4: no usable ML Commons model API → refused.
- 2.4–2.6: legacy routes `_upload`, `_load`, `_unload`, `models/meta`, `models/{id}/chunk/{n}`; no model groups.
- 2.7+: `_register`, `_deploy`, `_undeploy`, `_register_meta`, `models/{id}/upload_chunk/{n}`.
- 2.8: `model_group_id` is required. 2.9–2.10: a second registration of the same name without a
  group fails. So on 2.8–2.10 this client registers into a group named after the model; 2.11+
  reuses (or creates) the group itself.
- 2.15+: an open breaker is a 429; before that a 500 with the same text (handled in `errors.py`).

k-NN and neural-search differences the package touches (ml-commons-api.md §12–§13, the plugins' release notes):
- 2.19+: faiss accepts `cosinesimil` (k-NN PR #2376); the `score-ranker-processor` (reciprocal rank fusion).
- 2.17+: k-NN `mode` (in_memory/on_disk), `compression_level` and the query's `rescore` (k-NN `mapper/Mode.java`,
  `CompressionLevel.java` first at 2.17.0.0); lucene takes 1x/4x, and 32x (1-bit) from 3.6 (LuceneHNSWMethodResolver).
- 2.13+: ML Commons' `model_config.query_prefix`/`passage_prefix` and predict's `parameters.content_type`
  (`TextEmbeddingModel.isAsymmetricModel`; measured on 2.19.1: registered, and predict without a content type
  fails with 500 "Failed to inference TEXT_EMBEDDING model"). 3.5+: neural-search sends the content type itself at
  ingest and in `neural` queries (PR #1605, `AsymmetricModelDetector`).
- 3.0+: nmslib is refused for new indices ("nmslib engine is deprecated … cannot be used for new index creation").
- 3.1+: the `score-ranker-processor` takes per-sub-query `weights` (neural-search PR #1322), and reads
  `rank_constant` beside `technique`; 2.19–3.0 read it from `combination.parameters` and silently ignore it
  beside `technique` (measured on 2.19.1: k stayed 60), while 3.1+ refuses it in `parameters`.
- 3.0+: hybrid `z_score` normalization (neural-search PR #1224) and min-max `lower_bounds` (PR #1195).
- 3.5+: the search request's `min_score` filters a hybrid query's fused scores (neural-search PR #1726).
- Neural sparse (neural-search plugin): 2.11+ `sparse_encoding` processor and `neural_sparse` query with
  `query_text` + `model_id` on `rank_features`; 2.14+ `query_tokens` (a ready `{token: weight}` map);
  3.3+ the `sparse_vector` field (SEISMIC approximate search; keys are token ids, index setting `index.sparse`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opensearch_pretrained_haystack.cluster.errors import UnsupportedServerError

ML = "/_plugins/_ml"
MINIMUM_VERSION = (2, 4, 0)
FAISS_COSINE_VERSION = (2, 19, 0)
NMSLIB_BLOCKED_VERSION = (3, 0, 0)
RRF_VERSION = (2, 19, 0)
WEIGHTED_RRF_VERSION = (3, 1, 0)
Z_SCORE_VERSION = (3, 0, 0)
HYBRID_BOUNDS_VERSION = (3, 0, 0)
HYBRID_MIN_SCORE_VERSION = (3, 5, 0)
KNN_COMPRESSION_VERSION = (2, 17, 0)
ASYMMETRIC_MODEL_VERSION = (2, 13, 0)
ADDITIONAL_CONFIG_VERSION = (3, 1, 0)
"""`model_config.additional_config` (`space_type`), read by a dense `semantic` field (ml-commons BaseModelConfig)."""
NEURAL_ASYMMETRIC_VERSION = (3, 5, 0)
LUCENE_32X_VERSION = (3, 6, 0)
NEURAL_SPARSE_VERSION = (2, 11, 0)
QUERY_TOKENS_VERSION = (2, 14, 0)
SPARSE_VECTOR_VERSION = (3, 3, 0)


def version_text(version: tuple[int, int, int]) -> str:
    """`(2, 19, 0)` → `"2.19.0"`, for messages."""
    return ".".join(map(str, version))


@dataclass(frozen=True)
class ServerProfile:
    """What an OpenSearch version needs from an ML Commons client."""

    version: tuple[int, int, int]

    @classmethod
    def parse(cls, number: str) -> ServerProfile:
        """Build a profile from `GET /` → `version.number` (e.g. "2.19.1", "3.0.0-SNAPSHOT")."""
        match = re.match(r"(\d+)\.(\d+)\.(\d+)", number)
        if not match:
            msg = f"Cannot read the OpenSearch version {number!r}."
            raise UnsupportedServerError(msg)
        version = (int(match[1]), int(match[2]), int(match[3]))
        if version < MINIMUM_VERSION:
            msg = f"OpenSearch {number} is too old: ML Commons model APIs need OpenSearch 2.4 or newer. Upgrade it."
            raise UnsupportedServerError(msg)
        return cls(version)

    @property
    def legacy_routes(self) -> bool:
        """Servers older than 2.7 only know `_upload`/`_load`/`_unload`/`meta`/`chunk`."""
        return self.version < (2, 7, 0)

    @property
    def needs_named_model_group(self) -> bool:
        """2.8 requires a group; 2.9–2.10 reject a second model of the same name without one."""
        return (2, 8, 0) <= self.version < (2, 11, 0)

    @property
    def register_path(self) -> str:
        """Registration by name or URL."""
        return f"{ML}/models/_upload" if self.legacy_routes else f"{ML}/models/_register"

    @property
    def register_meta_path(self) -> str:
        """First step of a chunked upload."""
        return f"{ML}/models/meta" if self.legacy_routes else f"{ML}/models/_register_meta"

    def upload_chunk_path(self, model_id: str, chunk_number: int) -> str:
        """One 0-based chunk of a chunked upload."""
        verb = "chunk" if self.legacy_routes else "upload_chunk"
        return f"{ML}/models/{model_id}/{verb}/{chunk_number}"

    def deploy_path(self, model_id: str) -> str:
        """Deploy (legacy: load) a registered model."""
        return f"{ML}/models/{model_id}/{'_load' if self.legacy_routes else '_deploy'}"

    def undeploy_path(self, model_id: str) -> str:
        """Undeploy (legacy: unload) a model."""
        return f"{ML}/models/{model_id}/{'_unload' if self.legacy_routes else '_undeploy'}"

    @property
    def rrf_rank_constant_in_parameters(self) -> bool:
        """Where the `score-ranker-processor` reads `rank_constant`: `combination.parameters` before 3.1."""
        return self.version < WEIGHTED_RRF_VERSION

    def new_knn_index_refusal(
        self, engine: str, space_type: str, *, mode: str | None = None, compression: str | None = None
    ) -> str | None:
        """
        Why this server would refuse a new k-NN field (None: it accepts it).

        The field is of `engine` and `space_type`, stored in `mode` with `compression`.

        Checked before the index is created, so the user gets one line saying what to use instead of a 400.
        """
        here = version_text(self.version)
        if (mode or compression) and self.version < KNN_COMPRESSION_VERSION:
            return (
                f"OpenSearch {here} has no k-NN mode/compression_level (it needs "
                f"{version_text(KNN_COMPRESSION_VERSION)}): leave them out for a float index."
            )
        if engine == "lucene" and compression == "32x" and self.version < LUCENE_32X_VERSION:
            return (
                f"OpenSearch {here} has no 32x compression for lucene (it needs {version_text(LUCENE_32X_VERSION)}): "
                "use compression_level='4x'."
            )
        if engine == "nmslib" and self.version >= NMSLIB_BLOCKED_VERSION:
            return (
                f"OpenSearch {here} refuses new nmslib indices (nmslib is deprecated from "
                f"{version_text(NMSLIB_BLOCKED_VERSION)}): use engine='lucene' (portable) or 'faiss'."
            )
        if engine == "faiss" and space_type == "cosinesimil" and self.version < FAISS_COSINE_VERSION:
            return (
                f"OpenSearch {here} has no cosinesimil for faiss (it needs {version_text(FAISS_COSINE_VERSION)}): "
                "use engine='lucene', or space_type='innerproduct' with a normalizing model."
            )
        return None

    @property
    def sparse_query_tokens(self) -> bool:
        """`neural_sparse` accepts `query_tokens` (2.14+); before that only `query_text` + `model_id`."""
        return self.version >= QUERY_TOKENS_VERSION

    @property
    def sparse_vector_field(self) -> bool:
        """The `sparse_vector` field type exists (neural-search 3.3+); older servers only have `rank_features`."""
        return self.version >= SPARSE_VECTOR_VERSION
