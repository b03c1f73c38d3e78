"""A delivery worker killed mid-batch, for tests/channels_ingest/test_delivery_faults.py:
run as `python -m tests.channels_ingest.dying_worker OUT ID...` with the test's database and
Redis in the environment; the provider takes each message (written to OUT, one recipient a
line), and the process is SIGKILLed right after it took the second, before it is recorded."""

import os
import signal
import sys

import django
from anymail.backends.test import EmailBackend as AnymailTestBackend


class DiesAfterTheSecond(AnymailTestBackend):
    taken = 0

    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        with open(os.environ["DYING_WORKER_OUT"], "a") as out:
            out.writelines(f"{message.to[0]}\n" for message in email_messages)
        DiesAfterTheSecond.taken += len(email_messages)
        if DiesAfterTheSecond.taken == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return sent


if __name__ == "__main__":
    django.setup()
    from django.conf import settings
    from django.test.utils import override_settings

    from channels_ingest import tasks

    # As in the tests: static URLs without the manifest `collectstatic` writes.
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(STORAGES={**settings.STORAGES, "staticfiles": static}):
        tasks.deliver_messages.apply(args=[[int(pk) for pk in sys.argv[1:]]])
