"""The peer, django-helpdesk 2.6.1, on the same generated mail as our one-by-one ingest.

Beside `ingest.email_one_by_one_rate` (tests/benchmarks/bench_ingest.py) and our ticket page
(bench_queue.py's `ticket_page`), measured in the same run on the same machine:

- peer.email_one_by_one_rate: the messages of bench_ingest's one-by-one set (`generate_mail(
  ctx.scaled(1000, 100), seed=11)`, the same count and seed), each through the peer's per-
  message mail import, `helpdesk.email.extract_email_metadata`, as its poll runs it (Django's
  autocommit: it opens no transaction). Extras: p50/p99, CPU and SQL statements per
  message, tickets opened and replies threaded against what the set holds, notices sent.
- peer.email_one_by_one_atomic_rate: the same messages again, one transaction each (as our
  path commits them), to show what the per-statement commits cost it.
- peer.ticket_page_short_ms / peer.ticket_page_long_ms: the agent's ticket page
  (`helpdesk:view`, Django's test Client, a staff user) of a two-follow-up ticket from the
  import and of a ticket with 200 follow-ups and 100 ticket changes; p50 of 30 after warm-up.

How it runs: the peer lives in its own virtualenv, `.bench-peer/venv` (made once with uv,
or `python3.11 -m venv` and pip without it, from tests/benchmarks/peer/requirements.txt, and
made again only when that file changes), and its own PostgreSQL database,
`helpdesk_bench_peer`, dropped and created anew each run. This process writes the messages
as .eml files into a scratch folder and runs tests/benchmarks/peer/child.py with the peer's
python (its settings: peer/peer_settings.py); the child prints the JSON lines.

    python -m tests.benchmarks peer      # or: make bench BENCH=peer (BENCH_SCALE applies)
"""

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from tests.benchmarks import data
from tests.benchmarks.bench_ingest import generate_mail, sibling_url
from tests.benchmarks.harness import DEFAULT_DATABASE_URL, Context, Metric, scratch_folder

REPO = Path(__file__).resolve().parents[2]
PEER = Path(__file__).resolve().parent / "peer"
REQUIREMENTS = PEER / "requirements.txt"
VENV = REPO / ".bench-peer" / "venv"
OWN_DATABASE = "helpdesk_bench_peer"
LONG_FOLLOWUPS = 200
WARMUP = 100


def peer_python(ctx: Context) -> Path:
    """The peer's interpreter: .bench-peer/venv, made or brought up to requirements.txt."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".requirements.sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return python
    uv = Path(sys.executable).with_name("uv")
    base = getattr(sys, "_base_executable", sys.executable)  # Python 3.11, as ours
    ctx.log(f"peer: installing {REQUIREMENTS.relative_to(REPO)} into {VENV.relative_to(REPO)}")
    if uv.exists():
        if not python.exists():
            subprocess.run([uv, "venv", "--quiet", "--python", base, VENV], check=True)
        install = [uv, "pip", "sync", "--quiet", "--python", python, REQUIREMENTS]
    else:
        if not python.exists():
            subprocess.run([base, "-m", "venv", VENV], check=True)
        install = [python, "-m", "pip", "install", "--quiet", "-r", REQUIREMENTS]
    subprocess.run(install, check=True)
    stamp.write_text(wanted + "\n")
    return python


def fresh_database(url: str) -> None:
    """Drop the peer's database if it is there and create it empty."""
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(sibling_url(url, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def write_mail(folder: Path, messages: list[bytes]) -> None:
    """One .eml per message; the names keep the order they were generated in."""
    folder.mkdir()
    for number, raw in enumerate(messages):
        (folder / f"{number:06d}.eml").write_bytes(raw)


def run(ctx: Context) -> Iterator[Metric]:
    from django.conf import settings

    python = peer_python(ctx)
    database_url = sibling_url(
        os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL), OWN_DATABASE
    )
    fresh_database(database_url)
    support = settings.HELPDESK_SUPPORT_ADDRESS
    folder = Path(scratch_folder("bench-peer-"))
    try:
        run_id = f"p{int(time.time())}"
        # bench_ingest's warm-up set and its one-by-one set: the same sizes and seeds.
        warmup = generate_mail(WARMUP, run=f"{run_id}w", support=support, seed=7)
        singles = generate_mail(ctx.scaled(1000, 100), run=f"{run_id}s", support=support, seed=11)
        write_mail(folder / "warmup", warmup.messages)
        write_mail(folder / "mail", singles.messages)
        rng = random.Random(42)
        long_thread = {
            "subject": data.LONG_THREAD_SUBJECT,
            "customer": "dora.long-thread@mail.example",
            "bodies": [data.body(rng, 80) for _ in range(LONG_FOLLOWUPS)],
        }
        (folder / "long_thread.json").write_text(json.dumps(long_thread))
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV")
        }
        env.update(
            DJANGO_SETTINGS_MODULE="peer_settings",
            PEER_DATABASE_URL=database_url,
            PEER_MEDIA_ROOT=str(folder / "media"),
            PEER_SUPPORT_ADDRESS=support,
        )
        command = [
            str(python),
            str(PEER / "child.py"),
            *("--mail", str(folder / "mail"), "--warmup", str(folder / "warmup")),
            *("--long-thread", str(folder / "long_thread.json"), "--support", support),
            *("--staff", str(sum(data.AGENTS_PER_TIER.values()))),  # as our data set has
        ]
        ctx.log(
            f"peer: {len(singles.messages):,} messages ({singles.new_threads:,} conversations, "
            f"{singles.with_attachments:,} with attachments) through django-helpdesk"
        )
        done = subprocess.run(
            command, env=env, cwd=PEER, stdout=subprocess.PIPE, text=True, check=True
        )
        generated = {
            "generated_new_threads": singles.new_threads,
            "generated_with_attachments": singles.with_attachments,
            "megabytes": round(singles.total_bytes / 1e6, 2),
            "scale": ctx.scale,
        }
        for line in done.stdout.splitlines():
            got = json.loads(line)
            extra = {k: v for k, v in got.items() if k not in ("metric", "value", "unit", "n")}
            if got["metric"].startswith("peer.email"):
                extra.update(generated)
            yield Metric(got["metric"], got["value"], got["unit"], got["n"], extra)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
