"""Settings: params.yaml (:func:`load_params`) and one way to read settings into the frozen dataclasses that hold
them: a params.yaml section (:class:`Section`, :func:`from_params`) or ``HATESPEECH_<NAME>`` environment variables
(:func:`from_env`).

Values are converted to each field's declared type (``batch_size: 32.0`` is the int 32, ``epochs: "2"`` the
float 2.0); an unknown key or a value that does not fit is a :class:`PipelineError` naming the setting. A
dataclass with a ``validate()`` method has it called, for the checks that span fields or allowed values.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

import yaml

from hatespeech import PipelineError

Config = TypeVar("Config")

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
Self = TypeVar("Self", bound="Section")


class _ParamsLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading floats as YAML 1.2 (and DVC, which writes params.yaml) does.

    YAML 1.1 needs a dot in a float, so `8e-05`, as `dvc exp run -S` writes it, would load as a string.
    """


_ParamsLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_params(path: str | os.PathLike[str] = "params.yaml") -> dict[str, Any]:
    """Read the pipeline parameters (DVC runs every stage from the repository root)."""
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_ParamsLoader) or {}  # noqa: S506 (a SafeLoader subclass)


class Section:
    """Base of the frozen dataclasses that each hold one params.yaml section, named by ``SECTION``."""

    SECTION: ClassVar[str]

    @classmethod
    def from_params(cls: type[Self], params: Mapping[str, Any] | None) -> Self:
        """From the section's own mapping (None: every default)."""
        return from_params(cls, params, cls.SECTION)

    @classmethod
    def of(cls: type[Self], params: Mapping[str, Any]) -> Self:
        """From a whole params.yaml: its ``SECTION`` (every default where the section is absent)."""
        return cls.from_params(params.get(cls.SECTION))


@dataclasses.dataclass(frozen=True)
class BaseConfig(Section):
    """params.yaml's ``base`` section: what every stage shares."""

    SECTION = "base"
    seed: int = 42


def from_params(cls: type[Config], params: Mapping[str, Any] | None, section: str) -> Config:
    """``cls`` from the ``section`` of params.yaml; missing keys take the field's default."""
    params = params or {}
    hints = _field_types(cls)
    unknown = sorted(set(params) - set(hints))
    if unknown:
        raise PipelineError(f"unknown {section} parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(hints))}")
    try:
        values = {name: convert(value, hints[name], f"{section}.{name}") for name, value in params.items()}
    except ValueError as exc:
        raise PipelineError(f"bad {section} parameter: {exc}") from None
    return _build(cls, values)


def from_env(cls: type[Config], prefix: str = "HATESPEECH_", **overrides: Any) -> Config:
    """``cls`` from ``PREFIX<FIELD NAME>`` environment variables (those set), then ``overrides``."""
    values: dict[str, Any] = {}
    for name, kind in _field_types(cls).items():
        variable = f"{prefix}{name.upper()}"
        raw = os.environ.get(variable)
        if raw is None or name in overrides:
            continue
        try:
            values[name] = convert(raw, kind, variable, from_text=True)
        except ValueError as exc:
            raise PipelineError(str(exc)) from None
    return _build(cls, {**values, **overrides})


def convert(value: Any, kind: Any, name: str, from_text: bool = False) -> Any:
    """``value`` as the type ``kind`` (int, float, str, bool, ``tuple[str, ...]`` from a list or comma-separated
    text, or one of them | None); ValueError naming ``name``.

    ``from_text``: the value is an environment variable's text, where "true"/"false" and "null" are spelled out
    (in YAML they are typed already, and the string "yes" is no boolean).
    """
    if _is_optional(kind):
        if value is None or (from_text and value.strip().lower() in ("", "null", "none")):
            return None
        kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
    if kind is bool:
        if isinstance(value, bool):
            return value
        if from_text and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"{name} must be true or false, got {value!r}")
    if kind is int:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a whole number, got {value!r}") from None
        if isinstance(value, bool) or not number.is_integer():
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        return int(number)
    if kind is float:
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number, got {value!r}") from None
    if typing.get_origin(kind) is tuple:
        items = value.split(",") if from_text and isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ValueError(f"{name} must be a list, got {value!r}")
        return tuple(convert(item, str, f"{name}[{i}]").strip() for i, item in enumerate(items))
    if kind is str:
        if isinstance(value, (dict, list)):
            raise ValueError(f"{name} must be text, got {value!r}")
        return str(value)
    raise TypeError(f"{name}: settings of type {kind} are not supported")


def _build(cls: type[Config], values: dict[str, Any]) -> Config:
    config = cls(**values)
    validate = getattr(config, "validate", None)
    if callable(validate):
        validate()
    return config


def _field_types(cls: type) -> dict[str, Any]:
    """Each field's type, resolved (``from __future__ import annotations`` leaves them as strings)."""
    hints = typing.get_type_hints(cls)
    return {field.name: hints[field.name] for field in dataclasses.fields(cls)}


def _is_optional(kind: Any) -> bool:
    return typing.get_origin(kind) in (typing.Union, types.UnionType) and type(None) in typing.get_args(kind)
