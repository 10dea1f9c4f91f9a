"""``GET /model``: which model is served, how it decides and how it scored on test; ``GET /model/card``: its card."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from hatespeech.io import read_json
from hatespeech.model.calibration import Calibration
from hatespeech.model.inference import Classifier
from hatespeech.paths import CALIBRATION_FILE, CARD_FILE, METADATA_FILE
from hatespeech.service.deps import ClassifierDep, ModelInfoDep
from hatespeech.service.inputs import RequestError
from hatespeech.service.schemas import ModelInfo
from hatespeech.service.settings import Settings

router = APIRouter(tags=["model"])


@router.get("/model", response_model=ModelInfo)
@router.head("/model", include_in_schema=False)
async def model(info: ModelInfoDep) -> ModelInfo:
    return info


@router.get("/model/card", response_class=PlainTextResponse)
async def model_card(classifier: ClassifierDep) -> PlainTextResponse:
    """The model card (README.md) of the served model directory, as Markdown."""
    path = classifier.model_dir / CARD_FILE
    if not path.is_file():
        raise RequestError(404, f"{classifier.model_dir} has no model card ({CARD_FILE})")
    return PlainTextResponse(path.read_text(encoding="utf-8"), media_type="text/markdown; charset=utf-8")


def scores_meaning(calibration: Calibration) -> str:
    if calibration.calibrated:
        return f"calibrated ({calibration.kind} scaling fitted on {calibration.fitted_on or 'held-out rows'})"
    return f"uncalibrated: the model's own probabilities ({CALIBRATION_FILE} is missing from the model directory)"


def model_info(classifier: Classifier, settings: Settings, default_policy: str | None) -> ModelInfo:
    """What GET /model returns, read once when the app is created."""
    training = read_json(classifier.model_dir / METADATA_FILE, "training metadata", missing_ok=True) or {}
    return ModelInfo(
        calibration=asdict(classifier.calibration),
        scores=scores_meaning(classifier.calibration),
        policies=classifier.policies.as_json()["policies"] if classifier.policies.policies else None,
        default_policy=default_policy,
        model_dir=str(classifier.model_dir),
        backend=classifier.backend_name,
        precision=classifier.precision,
        labels=dict(enumerate(classifier.labels)),
        decision_rule=asdict(classifier.rule),
        normalizer=asdict(classifier.normalizer),
        max_length=classifier.max_length,
        checkpoint=training.get("checkpoint"),
        data_sha256=training.get("data_sha256"),
        seed=training.get("seed"),
        params=training.get("params"),
        test_metrics=read_json(settings.metrics, "test metrics", missing_ok=True),
        limits={"max_texts": settings.max_texts, "max_chars": settings.max_chars},
    )


def info_labels(info: ModelInfo) -> dict[str, str]:
    """The labels of the ``hatespeech_model`` info metric: which model, trained on what, served how."""
    fields = ("model_dir", "backend", "precision", "checkpoint", "data_sha256", "seed")
    return {name: str(getattr(info, name)) for name in fields}
