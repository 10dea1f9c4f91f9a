"""The project's benchmarks (docs/performance.md): ``python -m bench.run`` (training throughput, data stages,
DVC overhead, serving), ``python -m bench.serving`` (inference paths), ``python -m bench.contention`` (a busy CPU)."""
