"""Settings: params.yaml (:func:`load_params`) and one way to read its sections into the frozen dataclasses that
hold them (:class:`Section`, :func:`from_params`). The service's settings come from ``HATESPEECH_*`` variables
through pydantic-settings instead (:mod:`hatespeech.service.settings`).

One home per setting: params.yaml holds each value and the comment that says why; a :class:`Section` dataclass
holds the types (``Literal[...]`` for a choice) and the checks. Its fields default to :data:`PARAMS_YAML`: the
value in the repository's params.yaml (:data:`SHIPPED_PARAMS`), for code that builds a config without reading a
params file (tests, library use). A params file may name another it extends (:func:`load_params`): the
cross-validation's cv/params.yaml holds only what it changes.

Values are converted to each field's declared type (``batch_size: 32.0`` is the int 32, ``epochs: "2"`` the
float 2.0); an unknown key or a value that does not fit is a :class:`PipelineError` naming the setting. A
dataclass with a ``validate()`` method has it called, for the checks that span fields.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import yaml

from hatespeech import PipelineError

Config = TypeVar("Config")

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


# The repository's params.yaml: the settings `make run` uses, and every settings field's default.
SHIPPED_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"
# The key by which a params file names the one it extends (a path relative to the file).
EXTENDS = "extends"


def load_params(path: str | os.PathLike[str] = "params.yaml") -> dict[str, Any]:
    """Read the pipeline parameters (DVC runs every stage from its dvc.yaml's directory: the repository root for
    the main pipeline, cv/ for the cross-validation).

    A file with an ``extends: <params file>`` key holds only overrides: its sections are merged key by key onto
    that file's (read the same way), as the cross-validation's cv/params.yaml is onto ../params.yaml.
    """
    with open(path, encoding="utf-8") as handle:
        params = yaml.load(handle, Loader=_ParamsLoader) or {}  # noqa: S506 (a SafeLoader subclass)
    base = params.pop(EXTENDS, None)
    if base is None:
        return params
    return merged(load_params(Path(path).parent / base), params)


def merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` on top: mappings merged key by key, any other value replaced (a list too)."""
    result = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            value = merged(result[key], value)
        result[key] = value
    return result


@functools.cache
def _shipped_params() -> dict[str, Any]:
    try:
        return load_params(SHIPPED_PARAMS)
    except OSError as exc:
        raise PipelineError(
            f"no settings were given and there is no params.yaml beside the package to take them from: {exc}"
        ) from None


class _FromParamsYaml:
    def __repr__(self) -> str:
        return "PARAMS_YAML"


# A Section field's default: its value in the repository's params.yaml, read when a config is built without it.
PARAMS_YAML: Any = _FromParamsYaml()


@dataclasses.dataclass(frozen=True)
class _ShippedValue:
    """The default factory of a field set to :data:`PARAMS_YAML`: params.yaml's value, as the field's type."""

    cls: type[Section]
    name: str

    def __call__(self) -> Any:
        section = _shipped_params().get(self.cls.SECTION) or {}
        setting = f"{self.cls.SECTION}.{self.name}"
        if self.name not in section:
            raise PipelineError(f"{SHIPPED_PARAMS} has no {setting}, the default of {self.cls.__name__}.{self.name}")
        try:
            return convert(section[self.name], _field_types(self.cls)[self.name], setting)
        except ValueError as exc:
            raise PipelineError(f"bad {self.cls.SECTION} parameter in {SHIPPED_PARAMS}: {exc}") from None


class Section:
    """Base of the frozen dataclasses that each hold one params.yaml section, named by ``SECTION``."""

    SECTION: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Each field set to :data:`PARAMS_YAML` takes params.yaml's value when not given (this runs as the class
        statement ends, before the @dataclass decorator reads the fields)."""
        super().__init_subclass__(**kwargs)
        for name in cls.__dict__.get("__annotations__", {}):
            if cls.__dict__.get(name) is PARAMS_YAML:
                setattr(cls, name, dataclasses.field(default_factory=_ShippedValue(cls, name)))

    @classmethod
    def from_params(cls: type[Self], params: Mapping[str, Any] | None) -> Self:
        """From the section's own mapping (None: params.yaml's values)."""
        return from_params(cls, params, cls.SECTION)

    @classmethod
    def of(cls: type[Self], params: Mapping[str, Any]) -> Self:
        """From a whole params.yaml: its ``SECTION`` (the repository params.yaml's where the section is absent)."""
        return cls.from_params(params.get(cls.SECTION))


@dataclasses.dataclass(frozen=True)
class BaseConfig(Section):
    """params.yaml's ``base`` section: what every stage shares."""

    SECTION = "base"
    seed: int = PARAMS_YAML


def from_params(cls: type[Config], params: Mapping[str, Any] | None, section: str) -> Config:
    """``cls`` from the ``section`` of params.yaml; a missing key takes the field's default."""
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


def convert(value: Any, kind: Any, name: str) -> Any:
    """``value`` as the type ``kind`` (int, float, str, bool, ``Literal[...]`` of strings, ``tuple[str, ...]`` from
    a list or comma-separated text, ``dict[str, ...]`` of any of them, or one of them | None); ValueError naming
    ``name``.
    (YAML typed the value already: the string "yes" is no boolean.)
    """
    if _is_optional(kind):
        if value is None:
            return None
        kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
    if kind is bool:
        if isinstance(value, bool):
            return value
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
    if typing.get_origin(kind) is Literal:
        choices = typing.get_args(kind)
        if not isinstance(value, str) or value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value
    if typing.get_origin(kind) is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{name} must be a mapping, got {value!r}")
        item_kind = typing.get_args(kind)[1]
        return {str(key): convert(item, item_kind, f"{name}.{key}") for key, item in value.items()}
    if typing.get_origin(kind) is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{name} must be a list, got {value!r}")
        return tuple(convert(item, str, f"{name}[{i}]").strip() for i, item in enumerate(value))
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
