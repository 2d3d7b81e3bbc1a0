"""
The semantic sentence highlighter's traced TorchScript module, run on this machine as ML Commons runs it.

Per pair (`../shared/docs/semantic-highlighter.md` §2 and §4.2): segment the context, cut 512-token chunks, call
the module once per chunk (`input_ids, attention_mask, token_type_ids, sentence_ids`, batch dimension 1; it returns
a tuple holding one tensor of selected global sentence indices), and merge the chunks' selections (unique, sorted).
The answers equal the node's for every pair the node answers (`chunks.py` says where and why they differ otherwise).
The module is loaded by the package's TorchScript runtime (`inference.torchscript`: once per process, on the CPU,
one thread per call as DJL runs it).

Speed: the module is traced for batch size 1 (a batch of 2 fails: "Expected 1 elements in a list"), so chunks cannot
be stacked. Each call runs on one thread (torch's default of one thread per core collapsed on the busy test machine:
20x slower), `workers` calls at once on a persistent pool when there are idle cores, and every pair is tokenized
once, not once per chunk as on the node.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from opensearch_pretrained_haystack.artifacts import ModelArtifact
from opensearch_pretrained_haystack.highlighting.chunks import (
    IGNORED,
    Chunk,
    encode_pair,
    highlighter_tokenizer,
)
from opensearch_pretrained_haystack.highlighting.chunks import (
    Mapping as TokenMapping,
)
from opensearch_pretrained_haystack.highlighting.sentences import Sentence

Module = Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]
"""The loaded module (`inference.torchscript.ScriptModel`): named int64 inputs in, its tuple output as `output_0`."""


@dataclass(frozen=True)
class Highlighted:
    """One pair's answer: the selected sentences (by position) and which token map produced it."""

    sentences: list[Sentence]
    mapping: TokenMapping


class TorchScriptHighlighter:
    """
    Runs a sentence highlighter artifact's module locally.

    Usage example:
    ```python
    artifact = resolve_artifact("opensearch-semantic-highlighter-v1", model_format="TORCH_SCRIPT")
    lease = shared_script_model(artifact)
    highlighter = TorchScriptHighlighter(artifact, lease.value)
    [answer] = highlighter.highlight("Where do they play?", ["They play on the beach. The sun shines."])
    print([s.text for s in answer.sentences])
    lease.release()
    ```
    """

    def __init__(self, artifact: ModelArtifact, module: Module, *, workers: int = 1) -> None:
        """
        Load the artifact's tokenizer beside its loaded module.

        :param artifact: A verified TORCH_SCRIPT sentence highlighter artifact.
        :param module: Its loaded module (see `inference.torchscript.shared_script_model`).
        :param workers: Module calls run at once (each on one thread).
        """
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}.")
        self.tokenizer = highlighter_tokenizer(str(artifact.extract().tokenizer_file))
        self.module = module
        self.workers = workers
        self.name = artifact.name
        self._pool: ThreadPoolExecutor | None = None

    def close(self) -> None:
        """Stop the worker threads (a later `highlight` starts them again)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def highlight(self, question: str, contexts: Sequence[str]) -> list[Highlighted]:
        """
        The selected sentences of each context for one question.

        :raises ValueError: If the question is too long for 512-token chunks with stride 128.
        """
        encoded = [encode_pair(self.tokenizer, question, context) for context in contexts]
        chunks = [chunk for pair in encoded for chunk in pair.chunks]
        if self.workers == 1 or len(chunks) == 1:
            selected = iter([self._selected(chunk) for chunk in chunks])
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="highlight")
            selected = iter(list(self._pool.map(self._selected, chunks)))
        answers = []
        for pair in encoded:
            positions: set[int] = set()
            for _ in pair.chunks:
                positions.update(p for p in next(selected) if 0 <= p < len(pair.sentences))
            answers.append(Highlighted([pair.sentences[p] for p in sorted(positions)], pair.mapping))
        return answers

    def _selected(self, chunk: Chunk) -> list[int]:
        """
        The global sentence indices the module selects in one chunk.

        A chunk without any mapped token has none (the module cannot take it: `min()` of an empty tensor).
        """
        if all(i == IGNORED for i in chunk.sentence_ids):
            return []
        feeds = {
            "input_ids": chunk.input_ids,
            "attention_mask": chunk.attention_mask,
            "token_type_ids": chunk.token_type_ids,
            "sentence_ids": chunk.sentence_ids,
        }
        output = self.module({name: np.asarray([values], dtype=np.int64) for name, values in feeds.items()})
        return [int(i) for i in output["output_0"].tolist()]
