"""export: ONNX fp32 and int8 copies of the trained model (int8 activations quantized per token), with their
parity against PyTorch on the test split. A parity miss is reported and logged, not fatal."""

import argparse
from pathlib import Path

from hatespeech import PipelineError
from hatespeech.cli import run_stage
from hatespeech.io import atomic_output, write_json
from hatespeech.model.export import export_onnx, parity_report
from hatespeech.model.loading import check_checkpoint
from hatespeech.model.tokenization import load_tokenized


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", required=True, help="trained model directory from the train stage")
    parser.add_argument("--data", required=True, help="tokenized splits (the test split checks parity)")
    parser.add_argument("--out-dir", required=True, help="where the ONNX models, tokenizer and rule go")
    parser.add_argument("--parity", required=True, help="parity metrics JSON")
    args = parser.parse_args()

    if not Path(args.model_dir).is_dir():  # checked first, so a missing model leaves no output folders behind
        raise PipelineError(f"model directory not found: {args.model_dir} (run the train stage first)")
    check_checkpoint(args.model_dir)
    splits = load_tokenized(args.data)
    with atomic_output(args.out_dir, directory=True) as out_tmp:
        export_onnx(args.model_dir, out_tmp)
        report = parity_report(args.model_dir, out_tmp, splits["test"])
    write_json(args.parity, report)


if __name__ == "__main__":
    run_stage("export", main)
