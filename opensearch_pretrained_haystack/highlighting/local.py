"""The semantic sentence highlighter's traced TorchScript module, run on this machine as ML Commons runs it.

Per pair (`../shared/docs/semantic-highlighter.md` §2 and §4.2): segment the context, cut 512-token chunks, call
the module once per chunk (`input_ids, attention_mask, token_type_ids, sentence_ids`, batch dimension 1; it returns
a tuple holding one tensor of selected global sentence indices), and merge the chunks' selections (unique, sorted).
The answers equal the node's for every pair the node answers (`chunks.py` says where and why they differ otherwise).

Speed: the module is traced for batch size 1 (a batch of 2 fails: "Expected 1 elements in a list"), so chunks cannot
be stacked. Instead each call runs on one intra-op thread (as ML Commons' DJL runs it; torch's default of one thread
per core is far slower on small matrices and collapses on a busy machine) and `workers` calls run at once (torch
releases the GIL), under `torch.inference_mode`. Every pair is tokenized once, not once per chunk as on the node.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opensearch_pretrained_haystack.artifacts import ModelArtifact
from opensearch_pretrained_haystack.highlighting.chunks import (
    IGNORED,
    Chunk,
    Mapping,
    encode_pair,
    highlighter_tokenizer,
)
from opensearch_pretrained_haystack.highlighting.sentences import Sentence


@dataclass(frozen=True)
class Highlighted:
    """One pair's answer: the selected sentences (by position) and which token map produced it."""

    sentences: list[Sentence]
    mapping: Mapping


def load_torchscript(model_file: Path) -> Any:
    """The traced module on CPU, in eval mode, with one intra-op thread per call (process-wide, as in ML Commons)."""
    import torch

    torch.set_num_threads(1)
    with warnings.catch_warnings():
        # torch 2.10+ calls TorchScript deprecated in favour of torch.export; the artifact is TorchScript.
        warnings.simplefilter("ignore", FutureWarning)
        module = torch.jit.load(str(model_file), map_location="cpu")  # type: ignore[no-untyped-call]
    module.eval()
    return module


class TorchScriptHighlighter:
    """Runs a sentence highlighter artifact's module locally.

    Usage example:
    ```python
    highlighter = TorchScriptHighlighter(resolve_artifact("opensearch-semantic-highlighter-v1",
                                                          model_format="TORCH_SCRIPT"))
    [answer] = highlighter.highlight("Where do they play?", ["They play on the beach. The sun shines."])
    print([s.text for s in answer.sentences])
    ```
    """

    def __init__(self, artifact: ModelArtifact, *, workers: int = 2) -> None:
        """
        Unpack the artifact and load its tokenizer and module.

        :param artifact: A verified TORCH_SCRIPT sentence highlighter artifact.
        :param workers: Module calls run at once (each on one thread).
        """
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}.")
        files = artifact.extract()
        self.tokenizer = highlighter_tokenizer(str(files.tokenizer_file))
        self.module = load_torchscript(files.model_file)
        self.workers = workers
        self.name = artifact.name

    def highlight(self, question: str, contexts: Sequence[str]) -> list[Highlighted]:
        """The selected sentences of each context for one question.

        :raises ValueError: If the question is too long for 512-token chunks with stride 128.
        """
        encoded = [encode_pair(self.tokenizer, question, context) for context in contexts]
        chunks = [chunk for pair in encoded for chunk in pair.chunks]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            selected = iter(list(pool.map(self._selected, chunks)))
        answers = []
        for pair in encoded:
            positions: set[int] = set()
            for _ in pair.chunks:
                positions.update(p for p in next(selected) if 0 <= p < len(pair.sentences))
            answers.append(Highlighted([pair.sentences[p] for p in sorted(positions)], pair.mapping))
        return answers

    def _selected(self, chunk: Chunk) -> list[int]:
        """The global sentence indices the module selects in one chunk; a chunk without any mapped token has none
        (the module cannot take it: `min()` of an empty tensor)."""
        import torch

        if all(i == IGNORED for i in chunk.sentence_ids):
            return []
        inputs = [
            torch.tensor([values], dtype=torch.int64)
            for values in (chunk.input_ids, chunk.attention_mask, chunk.token_type_ids, chunk.sentence_ids)
        ]
        with torch.inference_mode():  # per thread: the mode is thread-local
            output = self.module(*inputs)
        return [int(i) for tensor in output for i in tensor.tolist()]
