"""The error tree drawn in ``errors``' docstring is the real one, and each error's exit code is the one drawn."""

import importlib
import re

import pytest
from haystack.document_stores.errors import DocumentStoreError

from opensearch_pretrained_haystack import errors
from opensearch_pretrained_haystack.app.cli.main import main
from opensearch_pretrained_haystack.errors import EXIT_FAILED, EXIT_USAGE, OpenSearchPretrainedError

# Every module that defines an error class (the drawing names them; importing them all finds every subclass).
MODULES = [
    "opensearch_pretrained_haystack.compatibility",
    "opensearch_pretrained_haystack.indices.knn",
    "opensearch_pretrained_haystack.indices.sparse",
    "opensearch_pretrained_haystack.app.evaluation",
    "opensearch_pretrained_haystack.app.batch.targets",
    "opensearch_pretrained_haystack.app.batch.ray_options",
    "opensearch_pretrained_haystack.cluster.errors",
    "opensearch_pretrained_haystack.parity",
    "opensearch_pretrained_haystack.node.errors",
    "haystack_integrations.document_stores.opensearch_pretrained.document_store",
    "haystack_integrations.document_stores.opensearch_pretrained.vector_file",
]
BUILTINS = {
    "ValueError": ValueError,
    "LookupError": LookupError,
    "RuntimeError": RuntimeError,
    "TimeoutError": TimeoutError,
    "ImportError": ImportError,
    "DocumentStoreError": DocumentStoreError,
}
_LINE = re.compile(
    r"^    (?P<indent>[│ ]*)(?:[├└]── )?(?P<name>\w+)(?:\((?P<bases>[\w, ]+)\))?(?:\s+\(exit (?P<exit>\d+)\))?"
)


def drawn_tree() -> dict[str, tuple[str | None, str | None, int | None]]:
    """``name -> (parent, builtin base, exit code)`` as the docstring draws them."""
    block = errors.__doc__.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    tree: dict[str, tuple[str | None, str | None, int | None]] = {}
    stack: list[str] = []
    for line in block.splitlines():
        match = _LINE.match(line)
        assert match, line
        depth = len(match["indent"]) // 4 + (1 if "──" in line else 0)
        del stack[depth:]
        parent = stack[-1] if stack else None
        tree[match["name"]] = (parent, match["bases"], int(match["exit"]) if match["exit"] else None)
        stack.append(match["name"])
    return tree


def real_tree() -> dict[str, type[OpenSearchPretrainedError]]:
    for module in MODULES:
        importlib.import_module(module)
    found: dict[str, type[OpenSearchPretrainedError]] = {"OpenSearchPretrainedError": OpenSearchPretrainedError}
    pending = [OpenSearchPretrainedError]
    while pending:
        for subclass in pending.pop().__subclasses__():
            if subclass.__module__.startswith(("opensearch_pretrained_haystack", "haystack_integrations")):
                found[subclass.__name__] = subclass
                pending.append(subclass)
    return found


def test_the_drawn_tree_names_every_error_class_under_its_real_parent():
    drawn, real = drawn_tree(), real_tree()
    assert set(drawn) == set(real)
    for name, (parent, builtin, _) in drawn.items():
        cls = real[name]
        ours = [base.__name__ for base in cls.__bases__ if base.__name__ in real]
        assert ours == ([parent] if parent else []), name
        if builtin is not None:
            assert issubclass(cls, BUILTINS[builtin]), name


def test_exit_codes_are_the_drawn_ones_and_inherited():
    drawn, real = drawn_tree(), real_tree()
    for name, cls in real.items():
        code = next(drawn[n][2] for n in [c.__name__ for c in cls.__mro__ if c.__name__ in drawn] if drawn[n][2])
        assert cls.exit_code == code, name
    assert real["IndexMismatchError"].exit_code == real["BeirFormatError"].exit_code == EXIT_USAGE
    assert real["ParityError"].exit_code == real["SQLiteStoreError"].exit_code == EXIT_FAILED


def test_store_errors_are_haystack_document_store_errors():
    from haystack_integrations.document_stores.opensearch_pretrained import SQLiteStoreError

    assert issubclass(SQLiteStoreError, DocumentStoreError) and issubclass(SQLiteStoreError, OpenSearchPretrainedError)


def test_help_lists_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for code in ("0 done", "1 failed or incomplete", "2 cannot be done as asked", "130 interrupted"):
        assert code in out
