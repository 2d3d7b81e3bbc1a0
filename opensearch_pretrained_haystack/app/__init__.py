"""
The application on top of the engine and the Haystack components.

Ready-made pipelines, the batch job (local and Ray engines), evaluation on BEIR data sets, and the
``opensearch-pretrained`` command line.
"""
