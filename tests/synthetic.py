"""Small synthetic data in the authors' CSV format and a tiny BERT, built locally for offline tests."""

from __future__ import annotations

import csv
import random
from pathlib import Path

# Made-up words per class, so a tiny model can learn something real in a few steps.
CLASS_WORDS = {
    0: ["zorgon", "blapper", "kravix", "muldrot", "snerk", "vorpal"],
    1: ["dang", "frick", "heckin", "darn", "crud", "bloop"],
    2: ["sunny", "garden", "coffee", "music", "weekend", "puppy"],
}
FILLER = ["the", "a", "is", "so", "you", "my", "today", "really", "what", "and", "this", "that", "lol"]
HEADER = ["", "count", "hate_speech", "offensive_language", "neither", "class", "tweet"]


def make_rows(n: int = 240, seed: int = 0, shares: tuple[float, float, float] = (0.2, 0.55, 0.25)) -> list[list]:
    """Rows of the authors' CSV (header excluded): ``[id, count, hate, offensive, neither, class, tweet]``."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = rng.choices([0, 1, 2], weights=shares)[0]
        words = rng.sample(CLASS_WORDS[label], 2) + rng.sample(FILLER, rng.randint(2, 8))
        rng.shuffle(words)
        text = " ".join(words)
        if rng.random() < 0.2:
            text = f"RT @user{rng.randint(1, 50)}: {text}"
        if rng.random() < 0.1:
            text += f" http://t.co/{rng.randint(1000, 9999)}"
        votes = [0, 0, 0]
        votes[label] = 3
        rows.append([i, 3, *votes, label, text])
    # Near-duplicates: retweets of earlier tweets must land in the same split as the original.
    for j in range(0, n // 10):
        original = rows[j * 7 % n]
        rows.append([n + j, *original[1:6], f"RT @fan{j}: {original[6].upper()}!!"])
    return rows


def write_csv(path: Path, rows: list[list], header: list[str] = HEADER) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def build_tiny_bert(directory: Path) -> Path:
    """A randomly initialized 2-layer BERT with a WordPiece vocabulary covering the synthetic words."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)  # the same tiny model in every test session

    directory.mkdir(parents=True, exist_ok=True)
    words = sorted({w for ws in CLASS_WORDS.values() for w in ws} | set(FILLER) | {"rt", "http", "co", "user", "fan"})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *list("abcdefghijklmnopqrstuvwxyz0123456789!:@/._"), *words]
    vocab += [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    token_ids = {token: i for i, token in enumerate(dict.fromkeys(vocab))}
    tokenizer = BertTokenizerFast(vocab=token_ids, do_lower_case=True, model_max_length=128)
    tokenizer.save_pretrained(directory)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(directory, safe_serialization=True)
    return directory
