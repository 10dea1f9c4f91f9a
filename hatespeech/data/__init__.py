"""Data: from a source to token ids.

- ``sources``: read the authors' CSV (a path, URL or the shipped copy) or the Hub dataset into one schema
- ``splitting``: near-duplicate-aware stratified train/validation/test splits and k folds
- ``tokenization``: the splits as token ids for the model
- ``text``: checks on one input text and the tweet clean-up (URLs, mentions, spaces)
"""
