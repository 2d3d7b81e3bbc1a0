"""
Retrieval-augmented generation: query pipeline → ChatPromptBuilder → a chat generator of your choice.

    python examples/rag_prototype.py "why split documents?" [--generator CLASS] [--store PATH | --opensearch URL ...]

Without --generator it runs offline and prints the prompt it built, retrieved passages included. With
``--generator haystack.components.generators.chat.OpenAIChatGenerator`` (or any Haystack chat generator
class that can be built without arguments, e.g. reading its API key from the environment) it also prints
the answer. Under it, the evidence: the sentences of each passage that answer the question, found by the semantic
sentence highlighter (``--highlight MODEL``: the catalog highlighter or a model directory, run locally with the
``torch`` extra; ``--highlight ""`` leaves it out). Run `indexing_pipeline.py` first.
"""

from __future__ import annotations

import argparse
from typing import Any

from common import add_arguments, model_and_target

from opensearch_pretrained_haystack.app.batch import load_store
from opensearch_pretrained_haystack.app.pipelines import DEFAULT_HIGHLIGHT_MODEL, highlighter, query_pipeline
from opensearch_pretrained_haystack.app.serving import load_generator, rag_pipeline
from opensearch_pretrained_haystack.highlighting.documents import HIGHLIGHTS_KEY


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Print and return the built prompt (and the generator's replies, when one is configured)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question")
    parser.add_argument("--generator", metavar="CLASS", help="import path of a Haystack chat generator class")
    parser.add_argument(
        "--highlight",
        default=DEFAULT_HIGHLIGHT_MODEL,
        metavar="MODEL",
        help="semantic highlighter for the evidence sentences (default: %(default)s; '' for none)",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    model, target = model_and_target(args)

    evidence = highlighter(args.highlight) if args.highlight else None
    retrieval = query_pipeline(
        load_store(target, model), model=model.name, version=model.version, top_k=3, highlight=evidence
    )
    pipeline = rag_pipeline(retrieval, load_generator(args.generator))
    inputs: dict[str, Any] = {"embedder": {"text": args.question}, "prompt_builder": {"question": args.question}}
    if evidence is not None:
        inputs["highlighter"] = {"query": args.question}
    result = pipeline.run(inputs, include_outputs_from={"prompt_builder", "highlighter"})
    print(result["prompt_builder"]["prompt"][0].text)
    for reply in result.get("generator", {}).get("replies", []):
        print("\nAnswer:", reply.text)
    for number, document in enumerate(result.get("highlighter", {}).get("documents", []), start=1):
        for sentence in document.meta.get(HIGHLIGHTS_KEY, []):
            print(f"Evidence [{number}]: {' '.join(sentence['text'].split())}")
    return result


if __name__ == "__main__":
    main()
