"""Scoring files offline: the two command-line tools that put the model to work on data at rest.

- ``predict``: ``hatespeech-predict``, files or stdin streamed through the Classifier in this process
- ``cli``: ``hatespeech-score``, archives (files, folders, globs, s3://) on Ray Data, resumable by shard;
  ``readers``: its inputs (formats, shards, bad rows); ``job``: the Ray job (actor pool, atomic shard outputs)
"""
