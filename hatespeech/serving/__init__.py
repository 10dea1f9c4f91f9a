"""Serving: the model in the hands of its users.

- ``predict``: ``hatespeech-predict``, streaming files through the Classifier
- ``scoring``: ``hatespeech-score``, archives (files, folders, globs, s3://) on Ray Data, resumable by shard
- ``service``: the HTTP service (FastAPI); ``batching``: its micro-batcher; ``inputs``: text and request checks;
  ``page``: its demo page; ``serve``: ``hatespeech-serve`` (uvicorn, ready for a network); ``access``: API keys
  (hashes only) and rate limits; ``operations``: Prometheus metrics, JSON access log, the middleware that guards
- ``export``: ONNX fp32 and int8, with a parity check; ``card``: the model card
"""
