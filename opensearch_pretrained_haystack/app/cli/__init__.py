"""The ``opensearch-pretrained`` command line (``main``), one module per group of subcommands."""
