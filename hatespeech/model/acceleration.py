"""How a training step runs: the attention kernel, the optimizer's update, compiled kernels, and batches cut by a
token budget. Each is a ``train`` param, so an experiment can switch it; what each buys on this project's CPUs
is measured side by side by ``python -m bench.run`` (docs/performance.md).

- ``attention``: ``sdpa`` (PyTorch's fused scaled-dot-product attention) or ``eager`` (the model's own matmuls)
- ``optimizer``: ``adamw_torch_fused`` (one fused kernel for every parameter's update) or ``adamw_torch``
  (PyTorch's multi-tensor ``foreach`` AdamW)
- ``compile``: true runs the model through ``torch.compile`` (inductor) with dynamic shapes, one graph for
  every batch length (padding to multiples of 16 instead compiled longer and ran slower); a compile that
  fails is a warning and the step runs eagerly, never a crash. Off by default: on the 2-core CPUs measured, its
  minutes of compiling outweigh what it saves in a run of this size (docs/performance.md)
- ``batch_tokens``: null for batches of ``batch_size`` texts; a number for length-sorted batches of as many
  texts as fit in that many tokens (texts x the longest)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal, get_args

import numpy as np

from hatespeech import PipelineError

Attention = Literal["sdpa", "eager"]
Optimizer = Literal["adamw_torch_fused", "adamw_torch"]
ATTENTIONS: tuple[str, ...] = get_args(Attention)
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)


def allow_eager_fallback() -> None:
    """Make a failed compile a warning and an eager run (TorchDynamo's own fallback), not a crash."""
    import torch._dynamo

    torch._dynamo.config.suppress_errors = True


def compile_in_place(model: Any) -> Any:
    """``model`` compiled in place (``nn.Module.compile``: its weights keep their names, so the Trainer saves
    and reloads it as usual), with dynamic shapes and the eager fallback."""
    allow_eager_fallback()
    model.compile(dynamic=True)
    return model


class TokenBudgetBatchSampler:
    """Batches of similar-length examples whose padded size (examples x longest) stays within ``max_tokens``.

    Every epoch the examples are shuffled, sorted by length (so equal lengths come in a new order), cut into
    batches greedily, and the batches shuffled. The lengths in sorted order never change, so neither do the
    cuts nor the number of batches: the Trainer can plan its steps and learning-rate schedule from ``len``.
    An example longer than the budget gets a batch of its own.
    """

    def __init__(self, lengths: Sequence[int], max_tokens: int, seed: int) -> None:
        if max_tokens < 1:
            raise PipelineError(f"train.batch_tokens must be at least 1 (or null), got {max_tokens}")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.max_tokens = max_tokens
        self.seed = seed
        self.epoch = 0
        self._cuts = self._cut_points(np.sort(self.lengths, kind="stable"))

    def _cut_points(self, sorted_lengths: np.ndarray) -> list[int]:
        cuts, start = [0], 0
        for end, length in enumerate(sorted_lengths, start=1):
            # Sorted ascending: the example being added is the batch's longest.
            if (end - start) * int(length) > self.max_tokens and end - 1 > start:
                cuts.append(end - 1)
                start = end - 1
        cuts.append(len(sorted_lengths))
        return cuts

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self._cuts) - 1

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        shuffled = rng.permutation(len(self.lengths))
        ordered = shuffled[np.argsort(self.lengths[shuffled], kind="stable")]
        batches = [ordered[a:b].tolist() for a, b in zip(self._cuts, self._cuts[1:])]
        for i in rng.permutation(len(batches)):
            yield batches[i]


def token_budget_trainer(trainer_class: Any, max_tokens: int, lengths: Sequence[int], seed: int) -> Any:
    """A subclass of ``trainer_class`` whose training batches come from a :class:`TokenBudgetBatchSampler`."""
    from torch.utils.data import DataLoader

    class TokenBudgetTrainer(trainer_class):
        def get_train_dataloader(self) -> Any:
            dataset = self._remove_unused_columns(self.train_dataset, description="training")
            loader = DataLoader(
                dataset,
                batch_sampler=TokenBudgetBatchSampler(lengths, max_tokens, seed),
                collate_fn=self.data_collator,
                num_workers=self.args.dataloader_num_workers,
                pin_memory=self.args.dataloader_pin_memory,
            )
            return self.accelerator.prepare(loader)

    return TokenBudgetTrainer
