"""Models: load, train and run the transformer; the baseline and the ensemble beside it.

- ``loading``: checkpoints (Hub id, local path, packaged encoder) to tokenizer and classifier
- ``tokenization``: the splits as the model's token ids (no padding)
- ``training``: the train params and the Trainer run; ``losses``: class weights, soft labels, focal loss;
  ``precision``: fp32 / bf16 / fp16 for training and serving; ``acceleration``: attention kernel, optimizer,
  torch.compile, token-budget batches; ``checkpoints``: resuming a killed run
- ``decision``: softmax and the decision rule fitted on validation; ``calibration``: the calibration map of the
  scores (temperature or vector scaling) fitted on validation; ``policy``: moderation policies, scores to actions
- ``inference``: the Classifier and its backends (PyTorch, ONNX), batching by length
- ``baseline``: TF-IDF + logistic regression; ``ensemble``: the two models' probabilities averaged
- ``distributed``: torchrun / accelerate launch; ``tracking``: DVCLive training curves
- ``export``: the published model as ONNX (fp32, int8), with a parity check against PyTorch (the export stage);
  ``int8``: int8 quantization (activations per token row; the dynamic and static schemes it is measured against)
"""
