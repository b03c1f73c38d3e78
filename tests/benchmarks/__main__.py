"""Run the benchmarks: `python -m tests.benchmarks [name ...]` (names: ingest, peer, webhooks,
drain, latency, queue, sla, rules, problems, reports, kb, chat, faults, fields; all by
default). Prints one JSON object per line on stdout."""

import importlib
import os
import sys

from tests.benchmarks.harness import Context, configure_environment

ORDER = [
    "ingest",
    "peer",
    "queue",
    "sla",
    "rules",
    "problems",
    "reports",
    "kb",
    "webhooks",
    "drain",
    "latency",
    "chat",
    "faults",
    "fields",
]


def main(argv: list[str]) -> int:
    configure_environment()
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    ctx = Context(scale=float(os.environ.get("BENCH_SCALE", "1")))
    names = argv or ORDER
    failed = False
    for name in names:
        module = importlib.import_module(f"tests.benchmarks.bench_{name}")
        ctx.log(f"--- {name}")
        try:
            for metric in module.run(ctx):
                print(metric.line(), flush=True)
        except Exception as error:  # one broken benchmark must not hide the others
            failed = True
            ctx.log(f"{name} failed: {error!r}")
            import traceback

            traceback.print_exc()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
