"""The IMAP poller against a real dovecot (see conftest.py): nothing of IMAP is mocked.

The tests use real transactions, because the poller's promise is about commits: a message is
marked seen only after its row is committed. serialized_rollback keeps the seeded tiers.
"""

import base64
import email
import email.policy
import email.utils
import itertools
import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse

from channels_ingest import pipeline
from channels_ingest.email import imap
from channels_ingest.models import InboundItem, InboundStatus, Mailbox
from channels_ingest.tasks import poll_mailbox, poll_mailboxes
from tests.channels_ingest.email.conftest import Dovecot, FakeOAuth, ImapUser

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MakeMailbox = Callable[..., Mailbox]


@pytest.fixture(autouse=True)
def _eager(celery_eager: Any) -> None:
    """Processing runs inline (eager Celery), as the worker would run it after the commit."""


@pytest.fixture
def user(dovecot: Dovecot) -> ImapUser:
    return dovecot.add_user()


@pytest.fixture
def make_mailbox(dovecot: Dovecot, imap_settings: Any, monkeypatch: Any) -> MakeMailbox:
    counter = itertools.count(1)

    def make(user: ImapUser, **fields: Any) -> Mailbox:
        n = next(counter)
        env = f"HELPDESK_TEST_IMAP_SECRET_{n}"
        monkeypatch.setenv(env, fields.pop("secret", user.password))
        values: dict[str, Any] = {
            "name": f"{user.name}-{n}",
            "host": dovecot.host,
            "port": dovecot.imaps_port,
            "security": "tls",
            "username": user.name,
            "secret_env": env,
        }
        values.update(fields)
        mailbox = Mailbox.objects.create(**values)
        # Ids repeat across tests; a lock left in Redis by an interrupted run must not count.
        cache.delete(imap.poll_lock_key(mailbox.pk))
        return mailbox

    return make


def make_email(
    subject: str,
    *,
    sender: str = "Carla Customer <carla@example.com>",
    message_id: str | None = None,
    body: str = "Hello, the printer is broken again.",
) -> bytes:
    message_id = message_id or email.utils.make_msgid(domain="example.com")
    return (
        f"From: {sender}\r\n"
        "To: support@example.org\r\n"
        f"Subject: {subject}\r\n"
        "Date: Mon, 02 Jun 2025 10:00:00 +0000\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{body}\r\n"
    ).encode()


def stored_subjects() -> list[str]:
    subjects = []
    for payload in InboundItem.objects.order_by("id").values_list("payload", flat=True):
        message = email.message_from_bytes(bytes(payload), policy=email.policy.default)
        subjects.append(str(message["Subject"] or ""))
    return subjects


def seen(flags: set[str]) -> bool:
    return "\\Seen" in flags


# --- Password login, TLS and STARTTLS --------------------------------------------------------


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_unseen_mail_is_stored_then_marked_seen(
    dovecot: Dovecot, user: ImapUser, make_mailbox: MakeMailbox, security: str
) -> None:
    port = dovecot.imaps_port if security == "tls" else dovecot.imap_port
    mailbox = make_mailbox(user, security=security, port=port)
    first, second = make_email("First problem"), make_email("Second problem")
    dovecot.deliver(user, first)
    dovecot.deliver(user, second)
    dovecot.deliver(user, make_email("Read long ago"), seen=True)

    result = imap.mailbox_poll(mailbox=mailbox)

    assert result == imap.PollResult(stored=2)
    items = list(InboundItem.objects.order_by("id"))
    assert [bytes(item.payload) for item in items] == [first, second]
    assert {(item.channel, item.source, item.content_type) for item in items} == {
        ("email", f"imap:{mailbox.name}", "message/rfc822")
    }
    # Processed after commit (eager Celery here): each became a ticket.
    assert [(item.status, item.ticket.subject if item.ticket else None) for item in items] == [
        (InboundStatus.PROCESSED, "First problem"),
        (InboundStatus.PROCESSED, "Second problem"),
    ]
    assert all(seen(flags) for flags in dovecot.messages(user).values())
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""
    assert mailbox.last_polled_at is not None
    # Every session, the poller's included, ran over TLS.
    assert dovecot.logins(user)
    assert all(", TLS" in line for line in dovecot.logins(user))


def test_already_seen_mail_is_ignored(
    dovecot: Dovecot, user: ImapUser, make_mailbox: MakeMailbox
) -> None:
    mailbox = make_mailbox(user)
    dovecot.deliver(user, make_email("Old news"), seen=True)

    assert imap.mailbox_poll(mailbox=mailbox) == imap.PollResult()
    assert not InboundItem.objects.exists()


def test_a_second_poll_imports_only_what_is_new(
    dovecot: Dovecot, user: ImapUser, make_mailbox: MakeMailbox
) -> None:
    mailbox = make_mailbox(user)
    dovecot.deliver(user, make_email("One"))
    imap.mailbox_poll(mailbox=mailbox)
    dovecot.deliver(user, make_email("Two"))

    assert imap.mailbox_poll(mailbox=mailbox) == imap.PollResult(stored=1)
    assert stored_subjects() == ["One", "Two"]


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_an_untrusted_certificate_is_refused(
    dovecot: Dovecot, user: ImapUser, make_mailbox: MakeMailbox, settings: Any, security: str
) -> None:
    """Proves both paths really speak TLS and check the certificate."""
    port = dovecot.imaps_port if security == "tls" else dovecot.imap_port
    mailbox = make_mailbox(user, security=security, port=port)
    settings.HELPDESK_IMAP_CA_FILE = ""  # the system's CAs do not know our test server
    dovecot.deliver(user, make_email("Secret"))

    with pytest.raises(imap.MailboxUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        imap.mailbox_poll(mailbox=mailbox)
    mailbox.refresh_from_db()
    assert "CERTIFICATE_VERIFY_FAILED" in mailbox.last_error
    assert not InboundItem.objects.exists()


def test_a_silent_server_times_out(
    dovecot: Dovecot, user: ImapUser, make_mailbox: MakeMailbox, monkeypatch: Any
) -> None:
    """A STARTTLS mailbox pointed at the TLS port: both sides wait, the socket timeout ends it."""
    monkeypatch.setattr(imap, "TIMEOUT_SECONDS", 1)
    mailbox = make_mailbox(user, security="starttls", port=dovecot.imaps_port)
    with pytest.raises(imap.MailboxUnavailable, match=r"could not connect.*TimeoutError"):
        imap.mailbox_poll(mailbox=mailbox)


def test_a_password_that_is_not_ascii_is_sent_with_sasl_plain(
    dovecot: Dovecot, make_mailbox: MakeMailbox
) -> None:
    user = dovecot.unicode_user
    mailbox = make_mailbox(user)
    dovecot.deliver(user, make_email("Umlauts"))

    assert imap.mailbox_poll(mailbox=mailbox).stored == 1


# --- Moving to a folder ----------------------------------------------------------------------


def test_imported_mail_is_moved_to_a_folder_created_on_demand(
    dovecot: Dovecot, user: ImapUser, make_mailbox: MakeMailbox
) -> None:
    mailbox = make_mailbox(user, move_to="Erledigt Ü")
    dovecot.deliver(user, make_email("Move me"))

    assert imap.mailbox_poll(mailbox=mailbox).stored == 1
    assert dovecot.messages(user) == {}
    # Modified UTF-7 on the wire (RFC 3501): Ü is "&ANw-".
    assert "Erledigt &ANw-" in dovecot.folders(user)
    moved = dovecot.messages(user, folder='"Erledigt &ANw-"')
    assert list(moved) == ["Move me"]
    assert seen(moved["Move me"])


@pytest.mark.parametrize("missing", [{"MOVE"}, {"MOVE", "UIDPLUS"}])
def test_without_move_it_copies_deletes_and_expunges(
    dovecot: Dovecot,
    user: ImapUser,
    make_mailbox: MakeMailbox,
    monkeypatch: Any,
    missing: set[str],
) -> None:
    """Servers without MOVE: COPY, \\Deleted, then UID EXPUNGE (UIDPLUS) or EXPUNGE."""
    real = imap._capabilities
    monkeypatch.setattr(imap, "_capabilities", lambda client: real(client) - missing)
    dovecot.deliver(user, make_email("Done"))
    dovecot.deliver(user, make_email("Also done"))

    mailbox = make_mailbox(user, move_to="Processed")
    assert imap.mailbox_poll(mailbox=mailbox).stored == 2
    assert dovecot.messages(user) == {}
    assert set(dovecot.messages(user, folder="Processed")) == {"Done", "Also done"}


def test_a_failed_move_leaves_the_message_unseen_for_the_next_poll(
    dovecot: Dovecot, user: ImapUser, make_mailbox: MakeMailbox, monkeypatch: Any
) -> None:
    mailbox = make_mailbox(user, move_to="Vanished")
    dovecot.deliver(user, make_email("Stuck"))
    real_ensure = imap._ensure_folder
    monkeypatch.setattr(imap, "_ensure_folder", lambda client, folder: None)

    assert imap.mailbox_poll(mailbox=mailbox) == imap.PollResult(failed=1)  # NO [TRYCREATE]
    assert InboundItem.objects.count() == 1
    assert not seen(dovecot.messages(user)["Stuck"])

    monkeypatch.setattr(imap, "_ensure_folder", real_ensure)
    assert imap.mailbox_poll(mailbox=mailbox) == imap.PollResult(duplicates=1)
    assert dovecot.messages(user) == {}
    assert list(dovecot.messages(user, folder="Vanished")) == ["Stuck"]


# --- Duplicates, oversized and broken messages -----------------------------------------------


def test_a_duplicate_message_id_is_stored_once(
    dovecot: Dovecot, user: ImapUser, make_mailbox: MakeMailbox
) -> None:
    mailbox = make_mailbox(user)
    dovecot.deliver(user, make_email("Sent twice", message_id="<same@example.com>"))
    dovecot.deliver(user, make_email("Sent twice again", message_id="<same@example.com>"))

    assert imap.mailbox_poll(mailbox=mailbox) == imap.PollResult(stored=1, duplicates=1)
    assert InboundItem.objects.count() == 1
    assert all(seen(flags) for flags in dovecot.messages(user).values())


def test_an_oversized_message_becomes_a_note_and_the_poll_goes_on(
    dovecot: Dovecot, user: ImapUser, make_mailbox: MakeMailbox
) -> None:
    mailbox = make_mailbox(user, max_message_bytes=4000)
    huge = make_email(
        "Logs attached",
        sender="Otto Big <otto@example.com>",
        message_id="<huge@example.com>",
        body="x" * 20_000,
    )
    dovecot.deliver(user, make_email("Before"))
    dovecot.deliver(user, huge)
    dovecot.deliver(user, make_email("After"))

    assert imap.mailbox_poll(mailbox=mailbox) == imap.PollResult(stored=2, too_large=1)
    assert stored_subjects() == ["Before", "Logs attached", "After"]
    note_item = InboundItem.objects.get(idempotency_key__contains="huge@example.com")
    note = email.message_from_bytes(bytes(note_item.payload), policy=email.policy.default)
    assert len(note_item.payload) < 2000
    assert str(note["From"]) == "Otto Big <otto@example.com>"
    assert str(note["Message-ID"]) == "<huge@example.com>"
    assert note["X-Helpdesk-Import"] == "too-large"
    text = note.get_content()
    assert "too large to import" in text
    assert f'mailbox "{mailbox.name}"' in text
    assert "xxxx" not in text
    assert all(seen(flags) for flags in dovecot.messages(user).values())


def test_a_garbage_message_does_not_block_the_others(
    dovecot: Dovecot, user: ImapUser, make_mailbox: MakeMailbox
) -> None:
    mailbox = make_mailbox(user)
    dovecot.deliver(user, make_email("Before"))
    dovecot.deliver(user, b"\x00\xff\xfe this is not an email at all \x80\x81\r\n\r\n\xc3\x28")
    dovecot.deliver(user, make_email("After"))

    result = imap.mailbox_poll(mailbox=mailbox)

    assert result.failed == 0
    assert "Before" in stored_subjects() and "After" in stored_subjects()
    assert InboundItem.objects.count() == 3
    assert all(seen(flags) for flags in dovecot.messages(user).values())


def test_a_message_that_fails_to_store_stays_unseen(
    dovecot: Dovecot,
    user: ImapUser,
    make_mailbox: MakeMailbox,
    monkeypatch: Any,
    caplog: Any,
) -> None:
    mailbox = make_mailbox(user)
    dovecot.deliver(user, make_email("Fine"))
    dovecot.deliver(
        user, make_email("Doomed", sender="Private Person <private.person@example.com>")
    )
    dovecot.deliver(user, make_email("Also fine"))
    real_receive = pipeline.receive

    def receive(**kwargs: Any) -> Any:
        if b"Subject: Doomed" in kwargs["payload"]:
            raise RuntimeError("disk full while storing private.person@example.com")
        return real_receive(**kwargs)

    monkeypatch.setattr(pipeline, "receive", receive)
    with caplog.at_level(logging.INFO, logger="channels_ingest"):
        result = imap.mailbox_poll(mailbox=mailbox)

    assert result == imap.PollResult(stored=2, failed=1)
    flags = dovecot.messages(user)
    assert seen(flags["Fine"]) and seen(flags["Also fine"])
    assert not seen(flags["Doomed"])
    mailbox.refresh_from_db()
    assert "1 message(s) could not be imported" in mailbox.last_error
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "RuntimeError" in errors[0].getMessage()
    assert "private.person" not in caplog.text and "Doomed" not in caplog.text

    # Fixed: the next poll imports it, and the error goes away.
    monkeypatch.setattr(pipeline, "receive", real_receive)
    assert imap.mailbox_poll(mailbox=mailbox) == imap.PollResult(stored=1)
    assert seen(dovecot.messages(user)["Doomed"])
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""


def test_stored_but_not_marked_seen_is_stored_once_on_the_next_poll(
    dovecot: Dovecot, user: ImapUser, make_mailbox: MakeMailbox, monkeypatch: Any
) -> None:
    """A crash between commit and \\Seen: the next poll finds a duplicate and settles it."""
    mailbox = make_mailbox(user)
    dovecot.deliver(user, make_email("Half done"))
    real_settle = imap._settle

    def crash(*args: Any) -> None:
        raise ConnectionError("connection reset")

    monkeypatch.setattr(imap, "_settle", crash)
    with pytest.raises(imap.MailboxUnavailable, match="connection reset"):
        imap.mailbox_poll(mailbox=mailbox)
    assert InboundItem.objects.count() == 1
    assert not seen(dovecot.messages(user)["Half done"])

    monkeypatch.setattr(imap, "_settle", real_settle)
    assert imap.mailbox_poll(mailbox=mailbox) == imap.PollResult(duplicates=1)
    assert InboundItem.objects.count() == 1
    assert seen(dovecot.messages(user)["Half done"])


def test_the_poll_refuses_to_run_inside_a_transaction(
    user: ImapUser, make_mailbox: MakeMailbox
) -> None:
    from django.db import transaction

    mailbox = make_mailbox(user)
    with transaction.atomic(), pytest.raises(RuntimeError, match="outside a transaction"):
        imap.mailbox_poll(mailbox=mailbox)


def test_a_missing_folder_is_reported(user: ImapUser, make_mailbox: MakeMailbox) -> None:
    mailbox = make_mailbox(user, folder="Nowhere")
    with pytest.raises(imap.MailboxUnavailable, match="SELECT Nowhere"):
        imap.mailbox_poll(mailbox=mailbox)
    mailbox.refresh_from_db()
    assert "SELECT Nowhere" in mailbox.last_error


# --- The tasks -------------------------------------------------------------------------------


def test_bad_mailboxes_never_block_the_good_one(
    dovecot: Dovecot, make_mailbox: MakeMailbox, caplog: Any
) -> None:
    good_user, other_user = dovecot.add_user(), dovecot.add_user()
    good = make_mailbox(good_user, name="a-good")
    wrong_password = make_mailbox(other_user, name="b-wrong-password", secret="not-it")
    unreachable = make_mailbox(other_user, name="c-unreachable", port=_closed_port())
    missing_secret = make_mailbox(other_user, name="d-no-secret", secret_env="HELPDESK_NOPE")
    disabled = make_mailbox(good_user, name="e-disabled", enabled=False)
    dovecot.deliver(good_user, make_email("Please help"))

    with caplog.at_level(logging.WARNING, logger="channels_ingest"):
        assert poll_mailboxes.delay().get() == 4

    assert stored_subjects() == ["Please help"]
    for mailbox in (good, wrong_password, unreachable, missing_secret, disabled):
        mailbox.refresh_from_db()
    assert good.last_error == "" and good.last_polled_at is not None
    assert "login as" in wrong_password.last_error
    assert "AUTHENTICATIONFAILED" in wrong_password.last_error
    assert "could not connect" in unreachable.last_error
    assert "HELPDESK_NOPE" in missing_secret.last_error
    assert disabled.last_polled_at is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert other_user.password not in caplog.text


def test_a_mailbox_being_polled_is_not_polled_twice(
    dovecot: Dovecot, user: ImapUser, make_mailbox: MakeMailbox
) -> None:
    mailbox = make_mailbox(user)
    dovecot.deliver(user, make_email("Once"))

    with imap.poll_lock(mailbox.pk) as acquired:
        assert acquired
        poll_mailbox.delay(mailbox.pk)  # another worker, same mailbox: it steps aside
        mailbox.refresh_from_db()
        assert mailbox.last_polled_at is None
        assert not InboundItem.objects.exists()

    poll_mailbox.delay(mailbox.pk)  # the lock is gone with the first poll
    assert stored_subjects() == ["Once"]


def _closed_port() -> int:
    from tests.channels_ingest.email.conftest import _free_port

    return _free_port()


# --- XOAUTH2 ---------------------------------------------------------------------------------


def test_xoauth2_initial_response_format() -> None:
    raw = imap.xoauth2_string("someone@example.com", "ya29.token")
    assert raw == b"user=someone@example.com\x01auth=Bearer ya29.token\x01\x01"
    # What goes over the wire (imaplib adds the base64), as in Google's and Microsoft's docs.
    assert base64.b64encode(raw) == (
        b"dXNlcj1zb21lb25lQGV4YW1wbGUuY29tAWF1dGg9QmVhcmVyIHlhMjkudG9rZW4BAQ=="
    )


@pytest.fixture
def make_oauth_mailbox(
    make_mailbox: MakeMailbox, oauth: FakeOAuth, monkeypatch: Any
) -> Callable[..., Mailbox]:
    def make(user: ImapUser, **fields: Any) -> Mailbox:
        refresh_token = f"refresh-{user.name}"
        oauth.refresh_tokens[refresh_token] = user.name
        monkeypatch.setenv("HELPDESK_TEST_OAUTH_CLIENT_SECRET", "client-secret")
        values = {
            "auth": "xoauth2",
            "secret": refresh_token,
            "oauth_token_url": oauth.token_url,
            "oauth_client_id": "helpdesk-client",
            "oauth_client_secret_env": "HELPDESK_TEST_OAUTH_CLIENT_SECRET",
            "oauth_scope": "https://mail.example.com/ offline_access",
        }
        values.update(fields)
        mailbox = make_mailbox(user, **values)
        imap.forget_access_token(mailbox)  # none cached in Redis by an earlier run
        return mailbox

    return make


def test_access_token_is_refreshed_with_the_refresh_token_then_cached(
    user: ImapUser, make_oauth_mailbox: Callable[..., Mailbox], oauth: FakeOAuth
) -> None:
    mailbox = make_oauth_mailbox(user)

    token = imap.access_token(mailbox)

    assert oauth.access_tokens[token] == user.name
    assert oauth.token_requests == [
        {
            "grant_type": "refresh_token",
            "client_id": "helpdesk-client",
            "client_secret": "client-secret",
            "refresh_token": f"refresh-{user.name}",
            "scope": "https://mail.example.com/ offline_access",
        }
    ]
    assert imap.access_token(mailbox) == token  # from the cache
    assert len(oauth.token_requests) == 1


def test_a_token_about_to_expire_is_not_cached(
    user: ImapUser, make_oauth_mailbox: Callable[..., Mailbox], oauth: FakeOAuth
) -> None:
    oauth.expires_in = imap.TOKEN_EXPIRY_MARGIN_SECONDS
    mailbox = make_oauth_mailbox(user)

    assert imap.access_token(mailbox) != imap.access_token(mailbox)
    assert len(oauth.token_requests) == 2


def test_a_refused_refresh_is_recorded_on_the_mailbox(
    dovecot: Dovecot,
    user: ImapUser,
    make_oauth_mailbox: Callable[..., Mailbox],
    oauth: FakeOAuth,
) -> None:
    oauth.refuse_with = (400, {"error": "invalid_grant", "error_description": "Token revoked"})
    mailbox = make_oauth_mailbox(user)
    dovecot.deliver(user, make_email("Via OAuth"))

    with pytest.raises(imap.MailboxUnavailable, match="HTTP 400"):
        imap.mailbox_poll(mailbox=mailbox)
    mailbox.refresh_from_db()
    assert (
        mailbox.last_error == "OAuth2 token refresh refused (HTTP 400): invalid_grant Token revoked"
    )
    assert f"refresh-{user.name}" not in mailbox.last_error


def test_an_unreachable_token_endpoint_is_recorded(
    user: ImapUser, make_oauth_mailbox: Callable[..., Mailbox]
) -> None:
    mailbox = make_oauth_mailbox(user, oauth_token_url=f"http://127.0.0.1:{_closed_port()}/token")
    with pytest.raises(imap.MailboxUnavailable, match="token endpoint failed"):
        imap.mailbox_poll(mailbox=mailbox)


def test_xoauth2_end_to_end_with_dovecot(
    dovecot: Dovecot,
    user: ImapUser,
    make_oauth_mailbox: Callable[..., Mailbox],
    oauth: FakeOAuth,
) -> None:
    """dovecot's oauth2 passdb checks the bearer token with our provider's introspection."""
    mailbox = make_oauth_mailbox(user)
    dovecot.deliver(user, make_email("Through OAuth"))

    assert imap.mailbox_poll(mailbox=mailbox) == imap.PollResult(stored=1)
    assert stored_subjects() == ["Through OAuth"]
    assert any("method=XOAUTH2" in line for line in dovecot.logins(user))
    assert len(oauth.token_requests) == 1

    # A second poll reuses the cached access token.
    dovecot.deliver(user, make_email("Again"))
    assert imap.mailbox_poll(mailbox=mailbox) == imap.PollResult(stored=1)
    assert len(oauth.token_requests) == 1


def test_a_revoked_access_token_is_forgotten_and_replaced_on_the_next_poll(
    dovecot: Dovecot,
    user: ImapUser,
    make_oauth_mailbox: Callable[..., Mailbox],
    oauth: FakeOAuth,
) -> None:
    mailbox = make_oauth_mailbox(user)
    token = imap.access_token(mailbox)
    del oauth.access_tokens[token]  # revoked at the provider before it expired
    dovecot.deliver(user, make_email("After revocation"))

    with pytest.raises(imap.MailboxUnavailable, match=r"XOAUTH2 login as .* refused"):
        imap.mailbox_poll(mailbox=mailbox)
    assert imap.mailbox_poll(mailbox=mailbox) == imap.PollResult(stored=1)
    assert len(oauth.token_requests) == 2


# --- Admin -----------------------------------------------------------------------------------


def test_admin_lists_mailboxes_and_polls_them_now(
    client: Any, admin_user: Any, dovecot: Dovecot, user: ImapUser, make_mailbox: MakeMailbox
) -> None:
    mailbox = make_mailbox(user, name="support-inbox")
    dovecot.deliver(user, make_email("From the admin"))
    client.force_login(admin_user)
    url = reverse("admin:channels_ingest_mailbox_changelist")

    page = client.get(url)
    assert page.status_code == 200
    assert b"support-inbox" in page.content and b"Last polled at" in page.content

    response = client.post(
        url, {"action": "poll_now", "_selected_action": [mailbox.pk]}, follow=True
    )

    assert response.status_code == 200
    assert b"Polling 1 mailbox(es)" in response.content
    assert stored_subjects() == ["From the admin"]


def test_admin_form_requires_the_oauth_fields_for_xoauth2(client: Any, admin_user: Any) -> None:
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:channels_ingest_mailbox_add"),
        {
            "name": "o365",
            "enabled": "on",
            "host": "outlook.office365.com",
            "port": 993,
            "security": "tls",
            "username": "support@example.org",
            "auth": "xoauth2",
            "secret_env": "O365_REFRESH_TOKEN",
            "folder": "INBOX",
            "move_to": "INBOX",
            "max_message_bytes": 1000,
        },
    )
    assert response.status_code == 200  # the form again, with errors
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"oauth_token_url", "oauth_client_id", "move_to"}
    assert not Mailbox.objects.exists()
