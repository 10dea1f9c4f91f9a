"""The benchmark's one error type, importable without loading torch (so a bad option fails in a blink)."""

from hatespeech import PipelineError


class BenchError(PipelineError):
    """The benchmark cannot run as asked (bad option, missing input, a stage that failed)."""
