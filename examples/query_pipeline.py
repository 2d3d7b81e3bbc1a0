"""
Ask a question with the query pipeline: embed the query → k-NN retrieval → best passage per source document.

    python examples/query_pipeline.py "how are long texts handled?" [--store PATH | --opensearch URL --index NAME]

Run `indexing_pipeline.py` first (same --store or --opensearch/--index).
"""

from __future__ import annotations

import argparse

from common import add_arguments, model_and_target, print_documents
from haystack import Document

from opensearch_pretrained_haystack.app.batch import load_store
from opensearch_pretrained_haystack.app.pipelines import query_pipeline


def main(argv: list[str] | None = None) -> list[Document]:
    """Print and return the best source documents for the question."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question")
    parser.add_argument("--top-k", type=int, default=3)
    add_arguments(parser)
    args = parser.parse_args(argv)
    model, target = model_and_target(args)

    pipeline = query_pipeline(load_store(target, model), model=model.name, version=model.version, top_k=args.top_k)
    documents = pipeline.run({"embedder": {"text": args.question}})["collapser"]["documents"]
    print_documents(documents)
    return documents


if __name__ == "__main__":
    main()
