"""Benchmarks: one module per benchmark, each with ``run(*, quick: bool) -> dict``."""
