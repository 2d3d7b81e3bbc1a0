"""
Index text and markdown files with the indexing pipeline: convert → clean → split → embed → write.

    python examples/indexing_pipeline.py [FILES...] [--store PATH | --opensearch URL --index NAME]

Runs offline by default: documents go to the embedded SQLite store file, which `query_pipeline.py`,
`rag_prototype.py` and `opensearch-pretrained search --store PATH` read back.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import add_arguments, model_and_target

from haystack_integrations.document_stores.opensearch_pretrained import SQLiteDocumentStore
from opensearch_pretrained_haystack.app.pipelines import indexing_pipeline
from opensearch_pretrained_haystack.indices.knn import document_store_for

DATA = Path(__file__).parent / "data"


def main(argv: list[str] | None = None) -> int:
    """Index the files; returns the number of passages written."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, default=sorted(DATA.iterdir()))
    add_arguments(parser)
    args = parser.parse_args(argv)
    model, target = model_and_target(args)

    # The store decides nothing about vectors: its index (or file) follows the model's dimension and space.
    if target.store_path is not None:
        store = SQLiteDocumentStore(path=str(target.store_path), model=model.name, version=model.version)
    else:
        store = document_store_for(model, target.hosts, target.index)
    pipeline = indexing_pipeline(store, model=model.name, version=model.version)
    written = pipeline.run({"converter": {"sources": [str(f) for f in args.files]}})["writer"]["documents_written"]
    print(f"{written} passages from {len(args.files)} files written to {target.store_path or target.index}")
    return written


if __name__ == "__main__":
    main()
