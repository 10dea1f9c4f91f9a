"""Data: from a source to train/validation/test splits of tweets, and the text every model reads.

- ``sources``: read the authors' CSV (a path, URL or the shipped copy) or the Hub dataset into one schema
- ``splitting``: near-duplicate-aware stratified train/validation/test splits and k folds
- ``text``: the one normalization every model reads through (saved with it), the tweet masking and the digest
  that pairs rows across runs
- ``spelling``: the normalizer's spelling step: disguised offensive words and group names put back, from word lists
  the augment stage learns
- ``disguise``: the spelling variations users write to evade filters (asterisks, leetspeak, spaced letters...)
- ``functional``: the functional suite and training templates, generated from data/functional/*.yaml
- ``augment``: the train split plus template sentences and disguised copies of its rows
- ``corrections``: users' corrections (the service's store: SQLite or PostgreSQL), their export, and their rows in
  the train split (the ``feedback`` params)
- ``dialect``: the TwitterAAE dialect model (a tweet's dialect proportions) and the dialect groups they define
- ``fairness``: training-time mitigations of the dialect gap (sample weights, counterfactual rows; augment only)
"""
