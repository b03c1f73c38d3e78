"""The evaluation again on the embedded default (SQLite), when the suite runs on PostgreSQL:
a newcomer's first search must be as right as production's."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif("connection.vendor == 'sqlite'", reason="this run is on SQLite already")
def test_the_evaluation_holds_on_sqlite_too(tmp_path: Path) -> None:
    assert connection.vendor == "postgresql"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'kb_eval.sqlite3'}",
        "REDIS_URL": "",
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("REQUIRE_SERVICES", None)  # this run is on SQLite and in-memory on purpose
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s",
         "tests/kb_eval", "-k", "not sqlite_too"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    summary = "\n".join(
        line for line in run.stdout.splitlines() if "sqlite " in line or "passed" in line
    )
    print(summary)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "sqlite " in summary
