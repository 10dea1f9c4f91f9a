"""One loader for every params.yaml section: the Section dataclasses, their types, checks and defaults."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
import typing
from dataclasses import dataclass
from typing import Literal

import pytest
from helpers import ROOT

import hatespeech
from hatespeech import PipelineError
from hatespeech.config import SHIPPED_PARAMS, Section, from_params, load_params


@dataclass(frozen=True)
class Settings:
    size: int = 1
    rate: float = 0.5
    name: str = "a"
    flag: bool = False
    limit: int | None = None

    def validate(self) -> None:
        if self.size < 1:
            raise PipelineError("size must be at least 1")


def test_params_are_converted_to_the_declared_types():
    settings = from_params(Settings, {"size": 32.0, "rate": "2", "flag": True, "limit": 7}, "demo")
    assert settings == Settings(size=32, rate=2.0, flag=True, limit=7)
    assert type(settings.size) is int and type(settings.rate) is float
    assert from_params(Settings, None, "demo") == Settings()
    assert from_params(Settings, {"limit": None}, "demo").limit is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sise": 1}, "unknown demo parameter(s): sise; known: flag, limit, name, rate, size"),
        ({"size": 2.5}, "bad demo parameter: demo.size must be a whole number, got 2.5"),
        ({"size": True}, "demo.size must be a whole number, got True"),
        ({"flag": "yes"}, "demo.flag must be true or false, got 'yes'"),  # YAML typed it: a string is no boolean
        ({"rate": "fast"}, "demo.rate must be a number, got 'fast'"),
        ({"name": [1]}, "demo.name must be text"),
        ({"size": 0}, "size must be at least 1"),  # validate() runs too
    ],
)
def test_bad_params_name_the_setting(params: dict, message: str):
    with pytest.raises(PipelineError) as error:
        from_params(Settings, params, "demo")
    assert message in str(error.value)


def test_a_choice_is_one_of_its_literal_values():
    @dataclass(frozen=True)
    class Choice:
        mode: Literal["keep", "names"] = "keep"

    assert from_params(Choice, {"mode": "names"}, "demo").mode == "names"
    with pytest.raises(PipelineError, match="demo.mode must be one of keep, names, got 'drop'"):
        from_params(Choice, {"mode": "drop"}, "demo")
    with pytest.raises(PipelineError, match="demo.mode must be one of keep, names, got True"):
        from_params(Choice, {"mode": True}, "demo")


def test_a_params_file_that_extends_another_holds_only_its_overrides(tmp_path):
    (tmp_path / "params.yaml").write_text("base:\n  seed: 1\ntrain:\n  epochs: 1.5\n  batch_size: 32\n")
    (tmp_path / "cv").mkdir()
    (tmp_path / "cv/params.yaml").write_text("extends: ../params.yaml\ncv:\n  folds: [0, 1]\ntrain:\n  epochs: 1\n")
    assert load_params(tmp_path / "cv/params.yaml") == {
        "base": {"seed": 1},
        "train": {"epochs": 1, "batch_size": 32},
        "cv": {"folds": [0, 1]},
    }


def _sections() -> dict[str, type[Section]]:
    """Every :class:`Section` dataclass of the package, by the params.yaml section it holds."""
    for module in pkgutil.walk_packages(hatespeech.__path__, "hatespeech."):  # every Section subclass defined
        importlib.import_module(module.name)
    return {cls.SECTION: cls for cls in Section.__subclasses__()}


def test_every_setting_has_one_home_params_yaml_for_its_value_and_comment_a_typed_field_for_its_checks():
    """Each params.yaml section is read through one :class:`Section` dataclass, with a field for each of its keys
    and a key for each field. The value (and the comment on why) lives in params.yaml only: no field carries a
    default or a comment of its own, and a config built without params (tests, library use) gets params.yaml's."""
    assert SHIPPED_PARAMS == ROOT / "params.yaml"
    params = load_params(SHIPPED_PARAMS)
    sections = _sections()
    assert set(sections) == set(params), "a params.yaml section without its dataclass, or one without its section"
    for name, cls in sections.items():
        fields = {field.name: field for field in dataclasses.fields(cls)}
        assert set(fields) == set(params[name]), f"params.yaml's {name} keys and {cls.__name__}'s fields differ"
        source = inspect.getsource(cls)
        for field in fields.values():
            assert field.default is dataclasses.MISSING, f"{cls.__name__}.{field.name}: a default besides params.yaml's"
            assert re.search(rf"^    {field.name}: [^#\n]+= PARAMS_YAML$", source, re.MULTILINE), (
                f"{cls.__name__}.{field.name}: its comment belongs in params.yaml, its default is PARAMS_YAML"
            )
        assert cls.of(params) == cls(), f"{cls.__name__} differs from params.yaml's {name} section"


def test_every_choice_in_params_yaml_is_one_its_field_allows():
    params = load_params(SHIPPED_PARAMS)
    choices = 0
    for name, cls in _sections().items():
        for field, kind in typing.get_type_hints(cls).items():
            if typing.get_origin(kind) is Literal:
                assert params[name][field] in typing.get_args(kind), f"{name}.{field}"
                choices += 1
        cls.of(params)  # converted to each field's type and validated: a bad value is a PipelineError
    assert choices >= 8  # train: metric, class weights, launcher, attention, optimizer; rule, baseline, emoji
