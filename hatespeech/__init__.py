"""Shared code for the hate-speech / offensive-language classification pipeline.

The DVC stages under ``stages/`` are thin command-line wrappers around the functions in this package;
everything here is plain Python that can be tested without DVC. Subpackages by layer, imports pointing one
way (data -> model -> evaluation -> serving, workflow): ``data``, ``model``, ``evaluation``, ``serving``,
``workflow``, each ``__init__`` naming its modules. Shared basics at the top: this module (labels, column
names, PipelineError), ``paths``, ``config`` (params.yaml and settings), ``io`` (atomic files, JSON, parquet),
``metrics``, ``cli``, ``threads``, and ``testing`` (fixtures for the tests and the benchmark).
"""

LABELS: tuple[str, ...] = ("hate_speech", "offensive_language", "neither")
"""Class names in label-id order (0, 1, 2), as in Davidson et al. (2017)."""

ID2LABEL: dict[int, str] = dict(enumerate(LABELS))
LABEL2ID: dict[str, int] = {name: i for i, name in ID2LABEL.items()}

# Column names of the normalized data every stage after download reads.
TEXT = "text"
LABEL = "label"
VOTE_COLUMNS: tuple[str, ...] = ("hate_speech_count", "offensive_language_count", "neither_count")
"""The annotators' votes per class, in LABELS order (soft-label training uses them)."""
WEIGHT = "weight"
"""A train row's loss weight, where a fairness mitigation sets one (hatespeech/data/fairness.py); else 1."""


class PipelineError(Exception):
    """An error caused by the user's input or configuration, reported without a traceback."""
