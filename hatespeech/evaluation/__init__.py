"""Evaluation: how good a model is and how sure that figure is.

- ``evaluate``: metrics files, plots, error report and predictions of one model on its splits
- ``stats``: bootstrap intervals and paired tests (bootstrap, McNemar)
- ``explain``: occlusion scores of each token
- ``crossval``: the cross-validation pipeline's folds and summary
"""
