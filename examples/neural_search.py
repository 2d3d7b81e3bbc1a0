"""
Neural search: the cluster embeds the documents at ingest and the question at search time.

    python examples/neural_search.py "how do I cook risotto?" --opensearch URL [--index NAME] [--mirror DIR]

1. deploy the model in ML Commons (from --mirror if the cluster cannot download it);
2. create an index whose default ingest pipeline embeds `content` into `embedding` with that model;
3. write passages WITHOUT embeddings through Haystack's DocumentWriter: no embedder runs here;
4. ask with OpenSearchNeuralRetriever, which sends a `neural` query (the query text and the model id).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cluster import add_cluster_arguments, deploy
from common import print_documents
from haystack import Document, Pipeline
from haystack.components.converters import TextFileToDocument
from haystack.components.preprocessors import DocumentCleaner
from haystack.components.writers import DocumentWriter
from haystack.document_stores.types import DuplicatePolicy

from haystack_integrations.components.preprocessors.opensearch_pretrained import ModelTokenSplitter
from haystack_integrations.components.rankers.opensearch_pretrained import SourceDocumentCollapser
from haystack_integrations.components.retrievers.opensearch_pretrained import OpenSearchNeuralRetriever
from opensearch_pretrained_haystack.app.pipelines import PASSAGES_PER_RESULT
from opensearch_pretrained_haystack.indices.neural import neural_document_store

DATA = Path(__file__).parent / "data"


def main(argv: list[str] | None = None) -> list[Document]:
    """Index the example files through the cluster's ingest pipeline, then print and return the best documents."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question")
    parser.add_argument("--files", nargs="+", type=Path, default=sorted(DATA.iterdir()))
    parser.add_argument("--top-k", type=int, default=3)
    add_cluster_arguments(parser, index="opensearch-pretrained-neural-example")
    args = parser.parse_args(argv)
    model, model_id = deploy(args)

    store = neural_document_store(model, args.opensearch, args.index, model_id)
    indexing = Pipeline()
    indexing.add_component("converter", TextFileToDocument())
    indexing.add_component("cleaner", DocumentCleaner(keep_id=True))
    # Passages fit the model's token limit: the cluster would silently ignore the tail of a longer text.
    indexing.add_component("splitter", ModelTokenSplitter(model.name, model.version, mirror=args.mirror))
    indexing.add_component("writer", DocumentWriter(store, policy=DuplicatePolicy.OVERWRITE))
    indexing.connect("converter.documents", "cleaner.documents")
    indexing.connect("cleaner.documents", "splitter.documents")
    indexing.connect("splitter.documents", "writer.documents")
    written = indexing.run({"converter": {"sources": args.files}})["writer"]["documents_written"]
    print(f"{written} passages written to {args.index}; the cluster embedded them at ingest")

    querying = Pipeline()
    retriever = OpenSearchNeuralRetriever(
        document_store=store, model_id=model_id, top_k=args.top_k * PASSAGES_PER_RESULT
    )
    querying.add_component("retriever", retriever)
    querying.add_component("collapser", SourceDocumentCollapser(top_k=args.top_k))
    querying.connect("retriever.documents", "collapser.documents")
    documents = querying.run({"retriever": {"query": args.question}})["collapser"]["documents"]
    print_documents(documents)
    return documents


if __name__ == "__main__":
    main()
