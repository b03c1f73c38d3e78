"""`make bench`: benchmarks on a prepared PostgreSQL database (not run by pytest or CI).

Each module `bench_<name>.py` in this package has `run(ctx: Context) -> Iterator[Metric]`;
the runner (`python -m tests.benchmarks [name ...]`) prints each Metric as one JSON line.
"""
