"""Kept so ``python -m opensearch_pretrained_haystack.cli`` and code importing ``main`` from here keep working: the
command line now lives in ``opensearch_pretrained_haystack.app.cli``."""

from opensearch_pretrained_haystack.app.cli.main import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
