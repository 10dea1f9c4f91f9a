"""One loader for every settings dataclass: params.yaml sections and HATESPEECH_* environment variables."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from helpers import ROOT

from hatespeech import PipelineError
from hatespeech.config import from_env, from_params


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


def test_environment_text_is_parsed_and_overrides_win(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DEMO_SIZE", "4")
    monkeypatch.setenv("DEMO_FLAG", "true")
    monkeypatch.setenv("DEMO_LIMIT", "null")
    monkeypatch.setenv("DEMO_NAME", "from env")
    settings = from_env(Settings, "DEMO_", name="override")
    assert settings == Settings(size=4, flag=True, limit=None, name="override")
    monkeypatch.setenv("DEMO_SIZE", "lots")
    with pytest.raises(PipelineError, match="DEMO_SIZE must be a whole number, got 'lots'"):
        from_env(Settings, "DEMO_")


def test_every_params_section_has_a_typed_config_whose_defaults_are_params_yamls():
    """Each params.yaml section is read through one :class:`Section` dataclass, and the dataclass's defaults are
    the values params.yaml ships (so code that builds a config without the file trains what `make run` does)."""
    import importlib
    import pkgutil

    import hatespeech

    for module in pkgutil.walk_packages(hatespeech.__path__, "hatespeech."):  # every Section subclass defined
        importlib.import_module(module.name)
    from hatespeech.config import Section, load_params

    params = load_params(ROOT / "params.yaml")
    sections = {cls.SECTION: cls for cls in Section.__subclasses__()}
    assert set(sections) == set(params), "a params.yaml section without its dataclass, or one without its section"
    for name, cls in sections.items():
        assert cls.of(params) == cls(), f"{cls.__name__}'s defaults differ from params.yaml's {name} section"
