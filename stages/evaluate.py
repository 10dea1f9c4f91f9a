"""evaluate: test and validation metrics (argmax and the model's tuned decision rule) with 95% bootstrap
intervals on test, plot data (confusion matrix, precision-recall curves), every row's prediction and an
error-analysis report (with the tokens behind its hate-speech mistakes) for the fine-tuned transformer.

(A script's folder comes first on sys.path, so this file would shadow Hugging Face's `evaluate` library for this
process; nothing the stage imports uses that library, nor probes for it.)
"""

import argparse

from hatespeech.cli import run_stage
from hatespeech.config import load_params
from hatespeech.data.splitting import read_splits
from hatespeech.data.text import Normalizer
from hatespeech.evaluation.evaluate import EvaluateConfig, EvaluationOutputs, write_evaluation
from hatespeech.evaluation.explain import model_explainer
from hatespeech.evaluation.stats import Bootstrap
from hatespeech.model.decision import DecisionRule
from hatespeech.model.inference import evaluate_split
from hatespeech.model.loading import load_classifier, load_tokenizer
from hatespeech.model.tokenization import load_tokenized
from hatespeech.threads import set_torch_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--data", required=True, help="tokenized splits")
    parser.add_argument("--splits", required=True, help="split parquet files (for the tweet texts)")
    EvaluationOutputs.add_arguments(parser)
    args = parser.parse_args()
    params = load_params()
    batch_size = EvaluateConfig.of(params).batch_size
    bootstrap = Bootstrap.from_params(params)

    set_torch_threads()
    tokenizer, model = load_tokenizer(args.model_dir), load_classifier(args.model_dir)
    tokenized = load_tokenized(args.data)
    labels, probabilities = {}, {}
    for split in ("test", "validation"):
        labels[split], probabilities[split] = evaluate_split(model, tokenizer, tokenized[split], batch_size)
    rule = DecisionRule.load(args.model_dir)
    write_evaluation(
        "fine-tuned transformer",
        labels,
        probabilities,
        rule,
        read_splits(args.splits),
        EvaluationOutputs.from_args(args),
        bootstrap,
        model_explainer(model, tokenizer, rule, Normalizer.load(args.model_dir), batch_size),
    )


if __name__ == "__main__":
    run_stage("evaluate", main)
