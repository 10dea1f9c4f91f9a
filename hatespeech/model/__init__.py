"""Models: load, train and run the transformer; the baseline and the ensemble beside it.

- ``loading``: checkpoints (Hub id, local path, packaged encoder) to tokenizer and classifier
- ``training``: the train params and the Trainer run
- ``decision``: softmax and the decision rule fitted on validation
- ``inference``: the Classifier and its backends (PyTorch, ONNX), batching by length
- ``baseline``: TF-IDF + logistic regression; ``ensemble``: the two models' probabilities averaged
- ``distributed``: torchrun / accelerate launch; ``tracking``: DVCLive training curves
"""
