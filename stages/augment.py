"""augment: the train split plus sentences from the training templates (data/functional/training.yaml) and disguised
copies of training rows (the offensive words of toxic rows spelled as users disguise them), all normalized; the
validation and test splits copied unchanged; with feedback.weight > 0, users' corrections
(data/feedback/corrections.csv) too, in the train split only; with a fairness mitigation (params.yaml `fairness`),
its sample weights or counterfactual rows, from the train rows' TwitterAAE dialect groups. Also writes the word
lists of the normalizer's spelling step (learnt from the train split, the templates, the groups and the
checkpoint's tokenizer). Refuses training templates that generate any functional-suite case."""

import argparse
import logging
import shutil
from pathlib import Path

import pandas as pd

from hatespeech import TEXT
from hatespeech.cli import run_stage
from hatespeech.config import BaseConfig, load_params
from hatespeech.data.augment import SOURCE, AugmentConfig, augment_train, learn_lexicon, row_counts
from hatespeech.data.corrections import CORRECTIONS_FILE, FeedbackConfig, correction_rows, read_corrections
from hatespeech.data.dialect import DialectModel, dialect_groups
from hatespeech.data.fairness import FairnessConfig, mitigate
from hatespeech.data.functional import TemplateFile, check_disjoint, load_templates, training_examples
from hatespeech.data.spelling import Spelling, build_spelling, profanity_list
from hatespeech.data.splitting import near_duplicate_key, read_splits
from hatespeech.data.text import Normalizer
from hatespeech.io import atomic_output, write_json, write_table
from hatespeech.model.loading import ModelConfig, load_vocabulary

log = logging.getLogger("hatespeech")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--splits", required=True, help="split parquet files from the split stage")
    parser.add_argument("--templates", required=True, help="the training templates (YAML)")
    parser.add_argument("--suite", required=True, help="the functional suite (YAML): no training text may be a case")
    parser.add_argument("--groups", required=True, help="the target groups the templates share (YAML)")
    parser.add_argument(
        "--feedback", required=True, help="the folder of corrections.csv (read when feedback.weight > 0)"
    )
    parser.add_argument(
        "--dialect-model", required=True, help="the TwitterAAE model directory (read when fairness.method is not none)"
    )
    parser.add_argument("--out-dir", required=True, help="train (augmented), validation and test parquet files")
    parser.add_argument("--spelling", required=True, help="JSON: the word lists of the normalizer's spelling step")
    parser.add_argument("--stats", required=True, help="JSON: rows added by source and label, the lexicon's size")
    args = parser.parse_args()
    params = load_params()
    config, normalizer = AugmentConfig.of(params), Normalizer.of(params)

    templates = load_templates(args.templates, args.groups, labels=("hate", "offensive", "neither"))
    suite_cases = check_disjoint(templates, load_templates(args.suite, args.groups), normalizer)
    examples = training_examples(templates)
    slurs = sorted(
        {
            word
            for terms in templates.groups.values()
            for key in ("slurs", "slurs_plural")
            for word in terms.get(key) or ()
        }
    )
    splits = read_splits(args.splits)
    seed = BaseConfig.of(params).seed
    feedback = FeedbackConfig.of(params)
    corrections: pd.DataFrame | None = None
    feedback_stats: dict[str, int] = {}
    if feedback.weight:
        held_out = [splits["validation"], splits["test"]]
        found = read_corrections(Path(args.feedback) / CORRECTIONS_FILE)
        splits["train"], corrections, feedback_stats = correction_rows(
            found, splits["train"], held_out, feedback.weight, near_duplicate_key
        )
        log.info("feedback: %s", feedback_stats)
    spelling = learnt_spelling(splits["train"], templates, slurs, normalizer, config, ModelConfig.of(params).checkpoint)
    if normalizer.spelling:
        normalizer = normalizer.with_spelling(spelling)
    train, added = augment_train(splits["train"], examples, normalizer, config, seed, extra_words=slurs)
    if corrections is not None and not corrections.empty:
        rows = corrections.assign(**{TEXT: normalizer.apply(corrections[TEXT]), SOURCE: "correction"})
        train = pd.concat([train, rows], ignore_index=True)
    log.info("train split: %s rows by source; lexicon of %d words", added["stats"]["rows"], len(added["lexicon"]))
    fairness = FairnessConfig.of(params)
    fairness_stats: dict[str, object] = {}
    if fairness.active:
        dialects = DialectModel.load(args.dialect_model)
        groups = dialect_groups(dialects.proportions(train[TEXT].tolist()), fairness.group_threshold)
        train, fairness_stats = mitigate(train, groups, added["lexicon"], fairness, seed)
        log.info("fairness: %s", fairness_stats)
    with atomic_output(args.out_dir, directory=True) as tmp:
        write_table(train, tmp / "train.parquet")
        for name in ("validation", "test"):
            shutil.copy2(f"{args.splits}/{name}.parquet", tmp / f"{name}.parquet")
        write_json(tmp / "lexicon.json", added["lexicon"])
    with atomic_output(args.spelling) as tmp:
        spelling.save(tmp)
    stats = {**added["stats"], **row_counts(train), "template_examples": len(examples), "suite_cases": suite_cases}
    if feedback.weight:
        stats["feedback"] = feedback_stats
    write_json(args.stats, {**stats, "fairness": fairness_stats} if fairness_stats else stats)


def learnt_spelling(
    train: pd.DataFrame,
    templates: TemplateFile,
    slurs: list[str],
    normalizer: Normalizer,
    config: AugmentConfig,
    checkpoint: str,
) -> Spelling:
    """The spelling step's word lists: the offensive words learnt from the (normalized) train split, the slurs, the
    templates' insults and group names as targets; the checkpoint tokenizer's words and the split's as known."""
    tweets = train.assign(**{TEXT: normalizer.apply(train[TEXT])})
    _, lexicon = learn_lexicon(tweets, config, slurs)
    vocabulary = load_vocabulary(checkpoint)
    words = profanity_list() if config.profanity_list != "none" else []
    more, masked = (words, []) if config.profanity_list == "all" else ([], words)
    spelling = build_spelling(lexicon, templates.fillers, templates.groups, tweets[TEXT], vocabulary, more, masked)
    sizes = len(spelling.targets), len(spelling.offensive), len(spelling.masked), len(spelling.known)
    log.info("spelling: %d target words (%d offensive), %d more for masked words, %d known words", *sizes)
    return spelling


if __name__ == "__main__":
    run_stage("augment", main)
