"""Stage 5, evaluate: test and validation metrics, confusion matrix, misclassified test tweets.

(Not named evaluate.py: that would shadow the `evaluate` library for anything that probes for it.)
"""

import argparse
import json

from hatespeech.cli import run_stage
from hatespeech.evaluation import confusion_records, evaluate_split, misclassified, split_report
from hatespeech.files import atomic_output, load_params, write_json
from hatespeech.modeling import load_classifier, load_tokenizer
from hatespeech.splitting import read_splits
from hatespeech.tokenization import load_tokenized


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--data", required=True, help="tokenized splits")
    parser.add_argument("--splits", required=True, help="split parquet files (for the tweet texts)")
    parser.add_argument("--test-metrics", required=True)
    parser.add_argument("--validation-metrics", required=True)
    parser.add_argument("--confusion", required=True, help="test confusion records for DVC's confusion plot")
    parser.add_argument("--misclassified", required=True, help="JSON lines of wrongly classified test tweets")
    args = parser.parse_args()
    batch_size = int(load_params()["evaluate"]["batch_size"])

    tokenizer, model = load_tokenizer(args.model_dir), load_classifier(args.model_dir)
    names = [model.config.id2label[i] for i in range(model.config.num_labels)]
    tokenized = load_tokenized(args.data)
    results = {split: evaluate_split(model, tokenizer, tokenized[split], batch_size) for split in ("test", "validation")}

    labels, probabilities = results["test"]
    write_json(args.test_metrics, split_report(labels, probabilities))
    write_json(args.validation_metrics, split_report(*results["validation"]))
    write_json(args.confusion, confusion_records(labels, probabilities.argmax(axis=1), names))
    errors = misclassified(read_splits(args.splits)["test"], labels, probabilities, names)
    with atomic_output(args.misclassified) as tmp:
        tmp.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in errors), encoding="utf-8")


if __name__ == "__main__":
    run_stage("evaluate", main)
