"""Training augmentation: the offensive-word lexicon learnt from the data, disguised copies that keep their label,
template rows, and the stage that writes them."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from hatespeech import PipelineError
from hatespeech.data.augment import AugmentConfig, augment_train, disguised_copies, offensive_lexicon, template_rows
from hatespeech.data.text import Normalizer
from hatespeech.testing import make_rows


def frame(n: int = 400) -> pd.DataFrame:
    rows = make_rows(n, seed=3)
    return pd.DataFrame(
        {
            "text": [r[6] for r in rows],
            "label": [r[5] for r in rows],
            "hate_speech_count": [r[2] for r in rows],
            "offensive_language_count": [r[3] for r in rows],
            "neither_count": [r[4] for r in rows],
        }
    )


def test_the_lexicon_holds_the_words_of_toxic_tweets_only():
    train = frame()
    lexicon = offensive_lexicon(train["text"], train["label"].to_numpy(), min_count=5, min_ratio=4.0)
    assert {"zorgon", "blapper", "dang", "frick"} <= set(lexicon)
    assert not {"sunny", "garden", "the", "lol"} & set(lexicon)


def test_disguised_copies_keep_their_label_and_change_an_offensive_word():
    train = frame()
    lexicon = ["zorgon", "blapper", "kravix", "muldrot", "snerk", "vorpal", "dang", "frick", "heckin", "darn"]
    copies = disguised_copies(train, lexicon, AugmentConfig(disguise_share=0.5), random.Random(0))
    assert 100 < len(copies) <= len(train) // 2 and set(copies["source"]) == {"disguised"}
    originals = train.set_index(train["text"])
    for _, row in copies.iterrows():
        assert row["text"] not in originals.index  # each copy differs from every original
    toxic = copies[copies["label"] != 2]
    words = {w for text in toxic["text"] for w in text.split()}
    assert not set(lexicon) >= words  # some lexicon words are now disguised ...
    assert copies["label"].value_counts().to_dict().keys() == {0, 1, 2}  # ... and every class keeps copies


def test_template_rows_take_as_many_from_each_functionality_and_every_example_before_a_repeat():
    texts = [f"big{i}" for i in range(20)] + [f"small{i}" for i in range(3)]
    templates = pd.DataFrame(
        {"text": texts, "label": [i % 3 for i in range(23)], "functionality": ["big"] * 20 + ["small"] * 3}
    )
    rows = template_rows(templates, 10, random.Random(0))
    assert len(rows) == 10 and rows["text"].str.startswith("small").sum() == 5  # 3 sentences, then 2 repeats
    assert set(rows["text"][rows["text"].str.startswith("small")]) == {"small0", "small1", "small2"}
    assert rows["text"].str.startswith("big").sum() == 5 and rows["text"][:5].is_unique
    assert rows.merge(templates, on="text")["label_x"].equals(rows.merge(templates, on="text")["label_y"])
    assert template_rows(templates, 0, random.Random(0)).empty


def test_augmented_train_split_is_normalized_shuffled_and_counted():
    train = frame()
    templates = pd.DataFrame({"text": ["they &amp; we are people", "so good"], "label": [2, 2], "functionality": "x"})
    out, added = augment_train(train, templates, Normalizer(), AugmentConfig(template_share=0.1), seed=1)
    stats = added["stats"]
    assert stats["rows"]["tweet"] == len(train) and stats["rows"]["template"] == round(0.1 * len(train))
    assert len(out) == sum(stats["rows"].values()) and "they & we are people" in set(out["text"])
    assert not out["text"].str.contains("http://").any()  # URLs are placeholders now
    assert (out.loc[out["source"] == "template", "neither_count"] == 0).all()  # no annotator voted on a template
    assert not np.array_equal(out["source"].to_numpy()[:50], np.array(["tweet"] * 50))  # shuffled
    again, _ = augment_train(train, templates, Normalizer(), AugmentConfig(template_share=0.1), seed=1)
    assert again.equals(out)


def test_bad_augment_params_are_clear_errors():
    with pytest.raises(PipelineError, match="augment.disguises"):
        AugmentConfig.from_params({"disguises": ["morse"]})
    with pytest.raises(PipelineError, match="must lie in"):
        AugmentConfig.from_params({"disguise_share": 1.5})
