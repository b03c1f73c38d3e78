"""Every email we send wears the brand: From its name and support address, an HTML part with
its logo and colours, a plain-text part ending with the company's name and address."""

from typing import Any

import pytest
from django.conf import settings
from django.core import mail

from tests.factories import AgentFactory
from tickets import addressing, services
from tickets.branding import current
from tickets.models import AgentProfile, Channel, ContactKind

pytestmark = pytest.mark.django_db

FROM = "Acme Support <help@acme.example>"


def _html(sent: Any) -> str:
    [(html, kind)] = sent.alternatives
    assert kind == "text/html"
    return str(html)


def _assert_branded(sent: Any) -> None:
    assert sent.from_email == FROM
    html = _html(sent)
    assert f'src="{settings.PUBLIC_BASE_URL}/brand/logo/{current().logo_version}/"' in html
    assert "color: #b43c0b;" in html and "border-bottom: 4px solid #f59e0b;" in html
    assert "Acme Support" in html and "Acme Ltd, 1 Demo Street" in html
    assert sent.body.endswith("\n-- \nAcme Support\nAcme Ltd, 1 Demo Street\nhelp@acme.example\n")


def test_a_reply_by_email_wears_the_brand_and_answers_to_its_address(
    acme: Any, open_ticket: Any, agent: Any, celery_eager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    ticket = open_ticket(sender="ann@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(ticket=ticket, actor=agent, text="Restart it, please.")
    [sent] = mail.outbox
    _assert_branded(sent)
    assert sent.body.startswith("Restart it, please.")
    assert "Restart it, please." in _html(sent)
    [reply_to] = sent.reply_to
    assert reply_to.startswith(f"help+t{ticket.pk}-") and reply_to.endswith("@acme.example")
    assert sent.extra_headers["Message-ID"].endswith("@acme.example>")


def test_answers_thread_back_whichever_address_they_reach(
    acme: Any, open_ticket: Any, inbound: Any
) -> None:
    ticket = open_ticket(sender="ann@example.com")
    branded = addressing.reply_address(ticket.pk)
    local = settings.HELPDESK_SUPPORT_ADDRESS.split("@")[0]
    configured = branded.replace("help+", f"{local}+").replace(
        "@acme.example", "@" + settings.HELPDESK_SUPPORT_ADDRESS.split("@")[1]
    )
    for n, to in enumerate((branded, configured)):
        result = services.ticket_ingest(
            inbound=inbound(sender="ann@example.com", subject="Re: it", recipients=(to,),
                            external_id=f"<answer-{n}@ann.example>")
        )  # fmt: skip
        assert result.ticket.pk == ticket.pk
    # Mail from either of our own addresses is ours (never a customer's).
    assert addressing.is_own_address("HELP@acme.example")
    assert addressing.is_own_address(settings.HELPDESK_SUPPORT_ADDRESS)
    # A Message-ID of mail sent before the brand's address was set still names its ticket.
    old = f"<hd-{ticket.pk}.0123abcd@{settings.HELPDESK_SUPPORT_ADDRESS.split('@')[1]}>"
    assert addressing.ticket_id_from_message_id(old) == ticket.pk


def test_customer_notices_wear_the_brand(
    acme: Any, open_ticket: Any, agent: Any, settings: Any, celery_eager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    settings.HELPDESK_CUSTOMER_NOTICES = True
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket(sender="ann@example.com")
    [received] = mail.outbox
    _assert_branded(received)


def test_the_sign_in_link_wears_the_brand(
    acme: Any, client: Any, open_ticket: Any, celery_eager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    open_ticket(sender="cleo@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/support/login/", {"email": "cleo@example.com"})
    [sent] = mail.outbox
    assert sent.subject == "Your sign-in link"
    _assert_branded(sent)
    assert "/support/login/" in _html(sent)


def test_the_password_reset_wears_the_brand(
    acme: Any, client: Any, agent: Any, celery_eager: Any
) -> None:
    client.post("/accounts/password_reset/", {"email": agent.email})
    [sent] = mail.outbox
    _assert_branded(sent)
    assert "/accounts/reset/" in sent.body and "/accounts/reset/" in _html(sent)


def test_agents_notifications_by_email_wear_the_brand(
    acme: Any, open_ticket: Any, agent: Any, celery_eager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    AgentProfile.objects.filter(user=agent).update(email_notifications=True)
    other = AgentFactory(username="other", tiers=[1])
    ticket = open_ticket(tier_level=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_assign(ticket=ticket, assignee=agent, actor=other)
    [sent] = mail.outbox
    _assert_branded(sent)
    assert sent.to == [agent.email] and ticket.reference in sent.subject


def test_without_a_brand_mail_says_the_configured_name_and_address(
    open_ticket: Any, agent: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = open_ticket(sender="ann@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(ticket=ticket, actor=agent, text="Hello.")
    [sent] = mail.outbox
    assert sent.from_email == f"{settings.HELPDESK_SENDER_NAME} <{settings.DEFAULT_FROM_EMAIL}>"
    assert sent.body.endswith(
        f"-- \n{settings.HELPDESK_SENDER_NAME}\n{settings.HELPDESK_SUPPORT_ADDRESS}\n"
    )
    assert "/static/brand/logo.png" in _html(sent)


def test_sms_replies_carry_no_mail_footer(
    acme: Any, open_ticket: Any, agent: Any, celery_eager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    from channels_ingest.sms import backends

    backends.outbox.clear()
    ticket = open_ticket(
        channel=Channel.SMS, sender_kind=ContactKind.PHONE, sender="+447700900123",
        external_id="SM-brand-1",
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(ticket=ticket, actor=agent, text="On it.")
    assert [sms.body for sms in backends.outbox] == ["On it."]
    backends.outbox.clear()
