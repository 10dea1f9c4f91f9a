"""Workflow: running and comparing the pipeline through DVC.

- ``preflight``: checks and a time estimate before ``make run``
- ``overrides``: params.yaml overrides from a profile file, as ``dvc exp run -S`` arguments
- ``sweep``: a sweep file queued as DVC experiments
- ``compare``: ``hatespeech-compare`` (two revisions' metrics and paired tests) and the experiments table
"""
