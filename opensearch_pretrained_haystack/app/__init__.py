"""
The application on top of the engine and the Haystack components: ready-made pipelines, the batch job (local
and Ray engines), evaluation on BEIR data sets, and the ``opensearch-pretrained`` command line.
"""
