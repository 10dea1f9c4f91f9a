"""Names in one place: the default locations of the pipeline's outputs (as dvc.yaml writes them, which a
test checks) and the files of a model directory, the contract between training and every consumer."""

from __future__ import annotations

# Outputs of `dvc repro`: what predict, the service, compare and the benchmark read when given no path.
MODEL_DIR = "models/model"
ONNX_DIR = "models/onnx"
TEST_METRICS = "metrics/test.json"
VALIDATION_METRICS = "metrics/validation.json"
FUNCTIONAL_METRICS = "metrics/functional.json"

# Inside a model directory, beside the Hugging Face files (config.json, model.safetensors, tokenizer files;
# the tokenizer's model_max_length is the truncation length the model was trained and evaluated with).
RULE_FILE = "decision_rule.json"
CALIBRATION_FILE = "calibration.json"  # the calibration map fitted on validation (hatespeech.model.calibration)
POLICY_FILE = "policies.json"  # the moderation policies' thresholds (hatespeech.model.policy)
METADATA_FILE = "training_metadata.json"
NORMALIZER_FILE = "normalizer.json"  # the text clean-up the model was trained with (hatespeech.data.text.Normalizer)
SPELLING_FILE = "spelling.json"  # the word lists its spelling corrections use (hatespeech.data.spelling.Spelling)
ONNX_FILES = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}
CARD_FILE = "README.md"  # a model directory's card: where the Hugging Face Hub and `huggingface_hub.ModelCard` look
