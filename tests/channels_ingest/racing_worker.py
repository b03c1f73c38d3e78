"""A delivery worker of its own process, for tests/channels_ingest/test_delivery_claims.py:
run as `python -m tests.channels_ingest.racing_worker batch|side|sweep ID...` with the
test's database (and no Redis) in the environment.

`batch` runs the batch task on the messages, as a worker takes it from the broker; `side`
the task of a side conversation's message; `sweep` runs the outbound sweep, its tasks in
place (a worker taking them at once). The provider
takes each message (written to RACING_WORKER_OUT, one recipient a line, whichever process
sent it). With RACING_WORKER_HOLD set (a folder), the first message handed to the provider
waits there: the file `sending` says it is being sent, and it goes on once `go-on` exists."""

import os
import sys
import time
from pathlib import Path

import django
from anymail.backends.test import EmailBackend as AnymailTestBackend


class SlowOnTheFirst(AnymailTestBackend):
    held = False

    def send_messages(self, email_messages):
        hold = os.environ.get("RACING_WORKER_HOLD")
        if hold and not SlowOnTheFirst.held:
            SlowOnTheFirst.held = True
            (Path(hold) / "sending").touch()
            deadline = time.monotonic() + 120
            while not (Path(hold) / "go-on").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        sent = super().send_messages(email_messages)
        with open(os.environ["RACING_WORKER_OUT"], "a") as out:
            out.writelines(f"{message.to[0]}\n" for message in email_messages)
        return sent


if __name__ == "__main__":
    django.setup()
    from django.conf import settings
    from django.test.utils import override_settings

    from channels_ingest import tasks
    from helpdesk.celery import app

    # As in the tests: static URLs without the manifest `collectstatic` writes.
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    app.conf.task_always_eager = True  # what a task queues runs here, at once
    with override_settings(STORAGES={**settings.STORAGES, "staticfiles": static}):
        if sys.argv[1] == "batch":
            tasks.deliver_messages.apply(args=[[int(pk) for pk in sys.argv[2:]]])
        elif sys.argv[1] == "side":
            tasks.deliver_side_message.apply(args=[int(sys.argv[2])])
        else:
            tasks.sweep_outbound.apply()
