"""A real SMTP server for tests (aiosmtpd, on a free local port): it counts sessions and
keeps what it accepted."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes

from aiosmtpd.controller import Controller


@dataclass
class MailServer:
    """Counts sessions (one EHLO each) and keeps what it accepted; turns away the
    messages to `refuse_once` the first time with a temporary error, refuses the recipients
    in `busy_once` the first time for now (450 at RCPT), and drops the connection at the
    message to `drop_once` the first time (the server restarting, the network failing)."""

    port: int = 0
    sessions: int = 0
    received: list[tuple[str, str]] = field(default_factory=list)  # (to, subject)
    refuse_once: set[str] = field(default_factory=set)
    busy_once: set[str] = field(default_factory=set)
    drop_once: set[str] = field(default_factory=set)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.busy_once:
            self.busy_once.discard(address)
            return "450 4.2.1 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        [to] = envelope.rcpt_tos
        if to in self.drop_once:
            self.drop_once.discard(to)
            server.transport.close()
            return "421 4.3.2 Closing connection"
        if to in self.refuse_once:
            self.refuse_once.discard(to)
            return "451 Try again later"
        subject = message_from_bytes(envelope.content)["Subject"]
        self.received.append((to, str(subject)))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_mail_server() -> Iterator[MailServer]:
    mail_server = MailServer(port=_free_port())
    controller = Controller(mail_server, hostname="127.0.0.1", port=mail_server.port)
    controller.start()
    try:
        yield mail_server
    finally:
        controller.stop()
