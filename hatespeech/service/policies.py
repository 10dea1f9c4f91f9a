"""Which moderation policy answers a request: the request's own ``"policy"``, else its API key's default (the keys
file's ``policy=``), else the service's (``HATESPEECH_POLICY``), else the model's default (its ``policies.json``).
Every configured name is checked against the model's policies when the app is built, so a typo in the keys file or
the environment stops the service at start, not at the first request; an unknown name in a request is a 422 that
names the known ones."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hatespeech import PipelineError
from hatespeech.model.policy import Policies, Policy, UnknownPolicy
from hatespeech.service.inputs import RequestError


@dataclass(frozen=True)
class PolicyChoice:
    policies: Policies  # the model's
    by_caller: Mapping[str, str] = field(default_factory=dict)  # API key name -> its default policy
    service_default: str | None = None  # HATESPEECH_POLICY

    def __post_init__(self) -> None:
        configured = [("HATESPEECH_POLICY", self.service_default)]
        configured += [(f"the API key '{caller}'", name) for caller, name in self.by_caller.items()]
        for where, name in configured:
            if name is None:
                continue
            try:
                self.policies.get(name)
            except UnknownPolicy as exc:
                raise PipelineError(f"{where} names a policy the model does not have: {exc}") from None

    @property
    def default(self) -> str | None:
        """The policy a request without a key or a name of its own gets (None: the model has none)."""
        return self.service_default or self.policies.default

    def choose(self, requested: str | None, caller: str | None) -> Policy | None:
        """The policy for a request (None when nothing names one and the model has no policies: no actions)."""
        name = requested or (self.by_caller.get(caller) if caller else None) or self.service_default
        if name is None and not self.policies.policies:
            return None
        try:
            return self.policies.get(name)
        except UnknownPolicy as exc:
            raise RequestError(422, str(exc)) from None
