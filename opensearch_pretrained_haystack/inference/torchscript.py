"""
The TorchScript runtime (optional extra ``torch``): an artifact's ``.pt`` run as the cluster's DJL runs it.

ML Commons deploys a TORCH_SCRIPT artifact by loading the traced ``.pt`` with PyTorch (DJL), forces one thread
per inference (``ai.djl.pytorch.num_threads=1``), and feeds it one text at a time: either a dict of named
tensors (sentence transformers and the neural-sparse encoders take ``{"input_ids", "attention_mask"}``) or
positional tensors (cross-encoders take ``input_ids, attention_mask, token_type_ids``).

Here the module is loaded once per process (``shared_script_model``, a lease on the shared cache of loaded
artifacts), on the CPU, and called with length-sorted, padded batches on a pool of single-threaded runs by the
same runner as the ONNX engine (``runner.OnnxRunner``, which does not care which runtime it holds). Every graph
this package runs masks padding out, so the numbers are the cluster's.

Without torch installed, ``import_torch`` raises one line saying what to install.
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar, Unpack

import numpy as np

from opensearch_pretrained_haystack.artifacts import (
    Lease,
    ModelArtifact,
    ModelSource,
    loaded_artifacts,
    resolve_artifact,
)
from opensearch_pretrained_haystack.errors import ArtifactFormatError, MissingExtraError, ModelInputError
from opensearch_pretrained_haystack.inference.runner import OnnxRunner

TORCH_FORMAT = "TORCH_SCRIPT"
TORCH_MISSING = (
    "TorchScript artifacts need PyTorch: pip install 'opensearch-pretrained-haystack[torch]' "
    "(CPU-only machines: install torch from PyTorch's CPU wheel index first, see the README)."
)

T = TypeVar("T")
"""What the engine's tokenizer lease holds."""

_threads_lock = threading.Lock()
_threads_set = False


def import_torch() -> Any:
    """The ``torch`` module, or ``MissingExtraError`` with the one line saying what to install."""
    try:
        import torch
    except ImportError:
        raise MissingExtraError(TORCH_MISSING) from None
    return torch


def _single_threaded_runs(torch: Any) -> None:
    """
    One thread per inference, as DJL runs it; the runner runs several inferences at once instead.

    Process-wide (PyTorch has no per-module setting), set once at the first load.
    """
    global _threads_set
    with _threads_lock:
        if _threads_set:
            return
        torch.set_num_threads(1)
        # Refused once set, or once parallel work ran in this process: then keep what it has.
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(1)
        _threads_set = True


class ScriptModel:
    """
    A loaded TorchScript artifact: called with named int64 arrays, it returns its named outputs as arrays.

    Whether the graph takes one dict (traced with a dict input) or positional tensors is read from its
    ``forward`` schema, so the caller only names what it feeds.
    """

    def __init__(self, module: Any, source: str) -> None:
        self._module = module
        self._source = source
        arguments = module.forward.schema.arguments[1:]  # [0] is self
        self.takes_dict = len(arguments) == 1 and str(arguments[0].type).startswith("Dict")
        self.input_names: tuple[str, ...] = () if self.takes_dict else tuple(a.name for a in arguments)

    def __call__(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run one batch; outputs keep the graph's names (a tuple output is named ``output_0``, ``output_1``...)."""
        torch = import_torch()
        tensors = {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in feeds.items()}
        with torch.inference_mode():
            if self.takes_dict:
                result = self._module(tensors)
            else:
                missing = [name for name in self.input_names if name not in tensors]
                if missing:
                    raise ModelInputError(f"{self._source}: the TorchScript graph also takes {missing}.")
                result = self._module(*(tensors[name] for name in self.input_names))
        if isinstance(result, Mapping):
            return {str(name): value.float().numpy() for name, value in result.items()}
        outputs = result if isinstance(result, tuple | list) else (result,)
        return {f"output_{i}": value.float().numpy() for i, value in enumerate(outputs)}


def load_script_model(artifact: ModelArtifact) -> ScriptModel:
    """``torch.jit.load`` the artifact's ``.pt`` on the CPU, in eval mode (use ``shared_script_model`` to share)."""
    torch = import_torch()
    model_file = artifact.extract().model_file
    if model_file.suffix != ".pt":
        raise ArtifactFormatError(f"{artifact.zip_path} holds {model_file.name}, not a TorchScript .pt file.")
    _single_threaded_runs(torch)
    try:
        with warnings.catch_warnings():
            # Newer torch marks torch.jit deprecated; TorchScript is the format ML Commons serves, so it is the one run.
            warnings.simplefilter("ignore", FutureWarning)
            module = torch.jit.load(str(model_file), map_location="cpu")
    except Exception as error:  # torch raises RuntimeError subclasses for files it cannot read
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ArtifactFormatError(
            f"{artifact.zip_path}: PyTorch {torch.__version__} cannot load {model_file.name} ({first_line})."
        ) from error
    module.eval()
    return ScriptModel(module, str(artifact.zip_path))


def shared_script_model(artifact: ModelArtifact) -> Lease[ScriptModel]:
    """The process's one loaded module of this artifact; release the lease when done."""
    return loaded_artifacts.acquire("torchscript-module", artifact, load_script_model)


def resolve_torch_script(
    model: ModelSource,
    version: str | None,
    *,
    owner: str,
    task_type: str,
    hint: str = "",
    mirror: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress_bar: bool = True,
) -> ModelArtifact:
    """
    What every TorchScript engine does first.

    Torch installed (else one line), the verified artifact (the catalog's TORCH_SCRIPT one), and a refusal naming
    ``owner`` for another format or task.

    :param hint: Ends the wrong-task message (what runs the other tasks).
    :raises MissingExtraError: torch is not installed.
    :raises ModelInputError: the artifact is not a TORCH_SCRIPT artifact of ``task_type``.
    """
    import_torch()
    artifact = resolve_artifact(
        model, version, model_format=TORCH_FORMAT, mirror=mirror, cache_dir=cache_dir, progress_bar=progress_bar
    )
    if artifact.model_format != TORCH_FORMAT:
        raise ModelInputError(
            f"{artifact.name} is a {artifact.model_format} artifact; {owner} runs {TORCH_FORMAT} artifacts."
        )
    if artifact.task_type != task_type:
        raise ModelInputError(
            f"{artifact.name} is a {artifact.task_type} model; {owner} runs {task_type} models{hint}."
        )
    return artifact


class LoadOptions(TypedDict, total=False):
    """The keyword options every TorchScript engine takes, besides the model and its version."""

    mirror: str | os.PathLike[str] | None
    """A directory or URL laid out like the artifacts site, for offline machines."""
    cache_dir: str | os.PathLike[str] | None
    """Where verified artifacts are kept."""
    concurrent_runs: int | None
    """How many single-threaded inference runs go at once (default: the usable CPUs)."""
    progress_bar: bool
    """Show the download progress bar (default True)."""


@dataclass(frozen=True)
class ScriptEngine:
    """What a TorchScript engine runs: which task's artifacts, and the inputs ML Commons feeds the graph."""

    task_type: str
    inputs: tuple[str, ...]
    takes_dict: bool
    """One dict of `inputs` (sentence transformers, sparse encoders), or `inputs` as positional tensors."""
    receiver: str
    """How a message names such a model ("a TEXT_SIMILARITY model")."""
    thread_name_prefix: str
    hint: str = ""
    """Ends the wrong-task message (what runs the other tasks)."""
    error: type[Exception] = ModelInputError
    """Raised when the graph does not take those inputs."""


def load_torch_script(
    runner: OnnxRunner[T],
    engine: ScriptEngine,
    model: ModelSource,
    version: str | None,
    *,
    tokenizer: Callable[[ModelArtifact], Lease[T]],
    check: Callable[[ModelArtifact], None] | None = None,
    **options: Unpack[LoadOptions],
) -> tuple[ModelArtifact, ScriptModel]:
    """
    The loading step of every TorchScript engine.

    The verified artifact of the engine's task (see `resolve_torch_script`), then `check` on it, the shared module
    and tokenizer held by `runner`, and the graph's inputs checked against what ML Commons feeds it (else the leases
    are given back and `engine.error` raised).

    :returns: The artifact and its loaded module.

    :raises MissingExtraError: torch is not installed.
    :raises ModelInputError: the artifact is not a TORCH_SCRIPT artifact of the engine's task.
    """
    artifact = resolve_torch_script(
        model,
        version,
        owner=type(runner).__name__,
        task_type=engine.task_type,
        hint=engine.hint,
        mirror=options.get("mirror"),
        cache_dir=options.get("cache_dir"),
        progress_bar=options.get("progress_bar", True),
    )
    if check is not None:
        check(artifact)
    runner.name = artifact.name
    runner._hold(
        lambda: shared_script_model(artifact),
        lambda: tokenizer(artifact),
        concurrent_runs=options.get("concurrent_runs"),
        thread_name_prefix=engine.thread_name_prefix,
    )
    script: ScriptModel = runner._session
    fits = script.takes_dict if engine.takes_dict else set(script.input_names) == set(engine.inputs)
    if not fits:
        runner.close()
        sent = f"one dict of {list(engine.inputs)}" if engine.takes_dict else str(list(engine.inputs))
        raise engine.error(
            f"{artifact.name}: the TorchScript graph takes {list(script.input_names) or 'one dict'}, but ML Commons "
            f"sends {sent} to {engine.receiver}."
        )
    return artifact, script
