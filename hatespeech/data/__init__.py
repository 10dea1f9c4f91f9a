"""Data: from a source to train/validation/test splits of tweets.

- ``sources``: read the authors' CSV (a path, URL or the shipped copy) or the Hub dataset into one schema
- ``splitting``: near-duplicate-aware stratified train/validation/test splits and k folds
- ``text``: the tweet clean-up (URLs, mentions, spaces) and the digest that pairs rows across runs
"""
