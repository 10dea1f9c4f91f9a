"""Workflow: running and comparing the pipeline through DVC.

- ``preflight``: checks and a time estimate before ``make run``; ``step_time``: a training step's cost, measured
  on this machine for the estimate
- ``overrides``: params.yaml overrides from a profile file, as ``dvc exp run -S`` arguments
- ``sweep``: a sweep file queued as DVC experiments; ``experiments``: the experiments table (``make experiments``)
- ``compare``: ``hatespeech-compare``, two revisions' metrics and paired tests; ``cv_compare``: cross-validation
  runs (the default and each dialect mitigation) compared out of fold
- ``dvc``: running ``dvc`` commands; ``stage_deps``: dvc.yaml's code deps derived from the imports
- ``feedback``: ``hatespeech-feedback``, the service's stored corrections out to the CSV the pipeline trains on
- ``s3_server``: ``make s3-server``, a real S3-compatible server (rclone) on 127.0.0.1 for the team workflow
"""
