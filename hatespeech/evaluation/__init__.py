"""Evaluation: how good a model is and how sure that figure is.

- ``evaluate``: every evaluation output of one model on its splits (metrics files first)
- ``plots``: confusion records and precision-recall curves; ``report``: the error analysis;
  ``predictions``: every row's prediction, and paired comparisons of two such tables
- ``calibration``: ECE, Brier, NLL and vote-share gaps before and after calibration; ``policy``: each moderation
  policy's shares, precision and catch rates, its out-of-fold check and trade-off curves
- ``stats``: bootstrap intervals and paired tests (bootstrap, McNemar)
- ``explain``: occlusion scores of each token
- ``crossval``: the cross-validation pipeline's folds and summary
- ``audit``: the dialect bias audit (flag rates and Sap et al.'s error rates by dialect group, their intervals and
  ratios, at two group thresholds; the measured decision-rule mitigation); ``mitigations``: training-time
  mitigations compared out of fold (cross-validation runs paired row by row)
- ``functional``: accuracy on the functional suite, and flag rates of real tweets with disguised words
- ``card``: the model card, filled from the run's metrics into the Markdown template ``card.md`` (the card stage)
"""
