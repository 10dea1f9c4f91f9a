"""Compute ceilings: the most texts (or training samples) per second any implementation of a model's arithmetic
can reach on this machine, from timing the model's own matrix products.

A transformer encoder's work is its per-token linear layers (attention projections and the feed-forward
block): ``tokens x in`` times ``in x out`` for each. Timing each distinct shape at the batch's token count,
at the precision in use, and adding them up gives the seconds one batch needs for its matrix products alone.
Training adds the backward pass's two products per layer (the input's gradient, ``tokens x out`` times ``out x
in``, and the weight's, ``out x tokens`` times ``tokens x in``): about 3x the forward's work. Attention scores,
softmax, normalization, activations, dropout, embeddings and the optimizer step are left out, so the ceiling
is generous: the share of it a run reaches says how much of its time goes to anything but those products.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

# Timed repeats per product; the fastest after the first few (which allocate and warm caches) is kept.
REPEATS = 10
WARMUP = 3


def per_token_linears(model: Any) -> list[Any]:
    """The linear layers applied to every token (the pooler and classification head run once per text)."""
    import torch

    return [
        module
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and not any(key in name for key in ("pooler", "classifier"))
    ]


def _fastest(product: Any, *operands: Any) -> float:
    timings = []
    for _ in range(WARMUP + REPEATS):
        started = time.perf_counter()
        product(*operands)
        timings.append(time.perf_counter() - started)
    return min(timings[WARMUP:])


def matmul_seconds(model: Any, tokens: int, precision: str = "fp32", backward: bool = False) -> dict[str, float]:
    """Seconds the fastest of :data:`REPEATS` runs takes for every per-token matrix product of one batch of
    ``tokens`` token vectors (forward only, or forward and backward), and the rate that implies.

    ``precision`` fp32, or bf16 (operands cast to bfloat16, as autocast does).
    """
    import torch

    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    shapes = Counter((m.in_features, m.out_features) for m in per_token_linears(model))
    seconds = flops = 0.0
    with torch.no_grad():
        for (fan_in, fan_out), count in shapes.items():
            x = torch.randn(tokens, fan_in, dtype=dtype)
            w = torch.randn(fan_out, fan_in, dtype=dtype)
            products = [(torch.matmul, x, w.t())]  # forward: tokens x out
            if backward:
                g = torch.randn(tokens, fan_out, dtype=dtype)
                products += [(torch.matmul, g, w), (torch.matmul, g.t(), x)]  # d input, d weight
            for product, *operands in products:
                seconds += count * _fastest(product, *operands)
            flops += count * len(products) * 2 * tokens * fan_in * fan_out
    return {"seconds": seconds, "gflops": round(flops / seconds / 1e9, 1)}


def inference_ceiling(model: Any, mean_tokens: float, precision: str, batch_tokens: int = 1024) -> dict[str, float]:
    """Texts per second of the forward matrix products alone, at ``mean_tokens`` tokens per text."""
    timed = matmul_seconds(model, batch_tokens, precision)
    return {"matmul_gflops": timed["gflops"], "texts_per_s": round(batch_tokens / mean_tokens / timed["seconds"], 1)}


def training_ceiling(model: Any, mean_tokens: float, batch_size: int, precision: str) -> dict[str, float]:
    """Training samples per second of one step's matrix products alone (forward and backward), for batches of
    ``batch_size`` texts of ``mean_tokens`` tokens (no padding: the data's real mean length)."""
    timed = matmul_seconds(model, max(1, round(batch_size * mean_tokens)), precision, backward=True)
    return {
        "matmul_gflops": timed["gflops"],
        "samples_per_s": round(batch_size / timed["seconds"], 1),
        "mean_tokens": round(mean_tokens, 2),
        "batch_size": batch_size,
    }
