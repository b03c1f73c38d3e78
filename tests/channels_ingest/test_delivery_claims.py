"""Two worker processes sending the same messages, on an install without Redis (SQLite, or
PostgreSQL with no REDIS_URL): each message is claimed for sending in the database, so one
process sends it and the other leaves it, and a claim its process died holding runs out so
the sweep sends what it left. Run on each database (DATABASE_URL); the workers are real
processes (tests/channels_ingest/racing_worker.py, dying_worker.py)."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from tickets import services
from tickets.collab import services as collab
from tickets.models import DeliveryStatus, Message, SideMessage

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


class SharedDatabase:
    """The test's database, where worker processes can reach it: PostgreSQL's as it is, an
    in-memory SQLite one copied to a file (what the test wrote is committed)."""

    def __init__(self, folder: Path) -> None:
        db = connection.settings_dict
        self.sqlite = Path(folder / "shared.sqlite3") if connection.vendor == "sqlite" else None
        if self.sqlite is not None:
            connection.ensure_connection()
            with sqlite3.connect(self.sqlite) as copy:
                connection.connection.backup(copy)
            self.url = f"sqlite:///{self.sqlite}"
        else:
            self.url = (
                f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
            )

    def statuses(self, messages: list[Message]) -> list[str]:
        ids = [m.pk for m in messages]
        if self.sqlite is None:
            found = dict(Message.objects.filter(pk__in=ids).values_list("pk", "delivery_status"))
        else:
            with sqlite3.connect(self.sqlite) as copy:
                marks = ",".join("?" * len(ids))
                query = f"SELECT id, delivery_status FROM tickets_message WHERE id IN ({marks})"
                found = dict(copy.execute(query, ids).fetchall())
        return [found[pk] for pk in ids]

    def run_out_claims(self) -> None:
        """As time does: the claims held by a process that died expire (five minutes)."""
        past = timezone.now() - timedelta(hours=1)
        if self.sqlite is None:
            Message.objects.exclude(claimed_until=None).update(claimed_until=past)
            return
        with sqlite3.connect(self.sqlite) as copy:
            copy.execute(
                "UPDATE tickets_message SET claimed_until = ? WHERE claimed_until IS NOT NULL",
                [past.strftime("%Y-%m-%d %H:%M:%S.%f")],
            )


def worker_environment(database: SharedDatabase, folder: Path, **more: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        "DATABASE_URL": database.url,
        "REDIS_URL": "",  # the embedded default: locks of the cache would be per process
        "CELERY_BROKER_URL": "",
        "DATA_DIR": str(folder / "data"),
        "EMAIL_ESP": "",
        **more,
    }


def old_replies(open_ticket, agent, *names: str) -> list[Message]:
    """Agents' replies, pending long enough for the outbound sweep to take them."""
    tickets = [open_ticket(sender=f"{name}@example.com") for name in names]
    replies = [services.ticket_reply(ticket=t, actor=agent, text="Try this.") for t in tickets]
    Message.objects.filter(pk__in=[r.pk for r in replies]).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    return replies


def wait_for(path: Path, worker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            raise AssertionError(worker.communicate()[1].decode()[-3000:])
        time.sleep(0.05)


def test_the_sweep_in_another_process_leaves_a_batch_a_worker_is_sending(
    open_ticket, agent, settings, tmp_path
):
    replies = old_replies(open_ticket, agent, "ann", "bob", "cy")
    database = SharedDatabase(tmp_path)
    taken = tmp_path / "taken.txt"
    hold = tmp_path / "hold"
    hold.mkdir()
    racing = "tests.channels_ingest.racing_worker"
    common = {
        "EMAIL_BACKEND": f"{racing}.SlowOnTheFirst",
        "RACING_WORKER_OUT": str(taken),
    }

    batch = subprocess.Popen(
        [sys.executable, "-m", racing, "batch", *(str(r.pk) for r in replies)],
        env=worker_environment(database, tmp_path, RACING_WORKER_HOLD=str(hold), **common),
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _sweep_while_held(batch, database, tmp_path, hold, common, settings)
    # Each customer got the reply once, from whichever process claimed it first.
    assert sorted(taken.read_text().split()) == [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
    ]
    assert database.statuses(replies) == [DeliveryStatus.SENT] * 3


def test_the_sweep_in_another_process_leaves_a_side_email_a_worker_is_sending(
    open_ticket, agent, settings, tmp_path
):
    ticket = open_ticket(sender="ann@example.com")
    conversation = collab.side_conversation_start(
        ticket=ticket, to="help@vendor.example", subject="Lockouts", text="Seen any?", actor=agent
    )
    side = conversation.messages.get()
    SideMessage.objects.filter(pk=side.pk).update(created_at=timezone.now() - timedelta(hours=1))
    database = SharedDatabase(tmp_path)
    taken = tmp_path / "taken.txt"
    hold = tmp_path / "hold"
    hold.mkdir()
    racing = "tests.channels_ingest.racing_worker"
    common = {"EMAIL_BACKEND": f"{racing}.SlowOnTheFirst", "RACING_WORKER_OUT": str(taken)}

    worker = subprocess.Popen(
        [sys.executable, "-m", racing, "side", str(side.pk)],
        env=worker_environment(database, tmp_path, RACING_WORKER_HOLD=str(hold), **common),
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _sweep_while_held(worker, database, tmp_path, hold, common, settings)
    assert taken.read_text().split() == ["help@vendor.example"]  # once


def test_a_claim_whose_worker_died_runs_out_and_the_sweep_sends_what_it_left(
    open_ticket, agent, settings, tmp_path
):
    replies = old_replies(open_ticket, agent, "ann", "bob", "cy")
    database = SharedDatabase(tmp_path)
    taken = tmp_path / "taken.txt"
    dying = subprocess.run(
        [sys.executable, "-m", "tests.channels_ingest.dying_worker", *(str(r.pk) for r in replies)],
        env=worker_environment(
            database,
            tmp_path,
            EMAIL_BACKEND="tests.channels_ingest.dying_worker.DiesAfterTheSecond",
            DYING_WORKER_OUT=str(taken),
        ),
        cwd=settings.BASE_DIR,
        capture_output=True,
        timeout=120,
    )
    assert dying.returncode == -signal.SIGKILL, dying.stderr.decode()[-3000:]
    assert taken.read_text().split() == ["ann@example.com", "bob@example.com"]

    def sweep() -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "tests.channels_ingest.racing_worker", "sweep"],
            env=worker_environment(
                database,
                tmp_path,
                EMAIL_BACKEND="tests.channels_ingest.racing_worker.SlowOnTheFirst",
                RACING_WORKER_OUT=str(taken),
            ),
            cwd=settings.BASE_DIR,
            capture_output=True,
            timeout=120,
        )

    # Bob's and Cy's are still claimed by the dead worker: the sweep sends nothing yet.
    assert sweep().returncode == 0
    assert taken.read_text().split() == ["ann@example.com", "bob@example.com"]
    assert database.statuses(replies) == [
        DeliveryStatus.SENT,
        DeliveryStatus.PENDING,
        DeliveryStatus.PENDING,
    ]

    database.run_out_claims()
    assert sweep().returncode == 0

    # Cy's goes once; Bob's, taken when the worker died, again (a reply is at least once).
    assert sorted(taken.read_text().split()) == [
        "ann@example.com",
        "bob@example.com",
        "bob@example.com",
        "cy@example.com",
    ]
    assert database.statuses(replies) == [DeliveryStatus.SENT] * 3


def _sweep_while_held(worker, database, tmp_path, hold, common, settings) -> None:
    """Once `worker` is sending (held at its first send), run the sweep in another process,
    then let the worker go on; both must end well."""
    wait_for(hold / "sending", worker)
    sweep = subprocess.run(
        [sys.executable, "-m", "tests.channels_ingest.racing_worker", "sweep"],
        env=worker_environment(database, tmp_path, **common),
        cwd=settings.BASE_DIR,
        capture_output=True,
        timeout=120,
    )
    (hold / "go-on").touch()
    _, errors = worker.communicate(timeout=120)
    assert sweep.returncode == 0, sweep.stderr.decode()[-3000:]
    assert worker.returncode == 0, errors.decode()[-3000:]
