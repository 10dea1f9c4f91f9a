"""Stage 5, evaluate: test and validation metrics (argmax and the model's tuned decision rule), plot data
(confusion matrix, precision-recall curves) and an error-analysis report for the fine-tuned transformer.

(Not named evaluate.py: that would shadow the `evaluate` library for anything that probes for it.)
"""

import argparse

from hatespeech.cli import run_stage
from hatespeech.decision import DecisionRule
from hatespeech.evaluation import write_evaluation
from hatespeech.files import load_params
from hatespeech.inference import evaluate_split
from hatespeech.modeling import load_classifier, load_tokenizer
from hatespeech.splitting import read_splits
from hatespeech.threads import set_torch_threads
from hatespeech.tokenization import load_tokenized


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--data", required=True, help="tokenized splits")
    parser.add_argument("--splits", required=True, help="split parquet files (for the tweet texts)")
    parser.add_argument("--test-metrics", required=True)
    parser.add_argument("--validation-metrics", required=True)
    parser.add_argument("--plots-dir", required=True, help="confusion records and precision-recall curves")
    parser.add_argument("--report-dir", required=True, help="error analysis (Markdown) and misclassified tweets")
    args = parser.parse_args()
    batch_size = int(load_params()["evaluate"]["batch_size"])

    set_torch_threads()
    tokenizer, model = load_tokenizer(args.model_dir), load_classifier(args.model_dir)
    tokenized = load_tokenized(args.data)
    labels, probabilities = {}, {}
    for split in ("test", "validation"):
        labels[split], probabilities[split] = evaluate_split(model, tokenizer, tokenized[split], batch_size)
    write_evaluation(
        "fine-tuned transformer",
        labels,
        probabilities,
        DecisionRule.load(args.model_dir),
        read_splits(args.splits)["test"],
        args.test_metrics,
        args.validation_metrics,
        args.plots_dir,
        args.report_dir,
    )


if __name__ == "__main__":
    run_stage("evaluate", main)
