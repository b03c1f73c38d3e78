"""The customer's chat page (/support/chat/) and the static files of the chat and its widget.

The conversation itself runs in the browser against /ws/chat/ (test_protocol.py covers the
server, tests/e2e/test_chat_widget.py the widget)."""

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils.html import escape

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_get_the_start_form_and_the_client(client: Client) -> None:
    response = client.get("/support/chat/")

    assert response.status_code == 200
    page = response.content.decode()
    assert '<header class="site-header">' in page
    assert '<form id="chat-start-form"' in page
    for label in ('for="chat-name">Your name', 'for="chat-email">Your email',
                  'for="chat-first">How can we help?'):  # fmt: skip
        assert label in page
    assert (
        'id="chat-name" name="name" autocomplete="name" maxlength="200" required value=""' in page
    )
    assert '<script src="/static/chat/chat.js" defer></script>' in page
    assert '<link rel="stylesheet" href="/static/chat/chat.css">' in page
    # The message log announces new messages politely; the composer has its label.
    assert 'role="log" aria-live="polite"' in page
    assert '<label for="chat-text" class="visually-hidden">Type your message</label>' in page
    assert 'maxlength="2000"' in page
    # The full page is not framed by other sites.
    assert response.headers["X-Frame-Options"] == "DENY"


def test_embedded_page_has_no_site_header_and_may_be_framed(client: Client) -> None:
    response = client.get("/support/chat/?embed=1")

    assert response.status_code == 200
    page = response.content.decode()
    assert "site-header" not in page
    assert 'class="chat chat-embedded"' in page
    assert 'data-embedded="1"' in page
    assert '<form id="chat-start-form"' in page
    assert '<script src="/static/chat/chat.js" defer></script>' in page
    assert "X-Frame-Options" not in response.headers


def test_a_signed_in_customer_finds_name_and_email_filled_in(client: Client, customer_user) -> None:
    client.force_login(customer_user)

    page = client.get("/support/chat/").content.decode()

    name = escape(customer_user.customer.name)  # Faker makes names like O'Keefe
    assert f'maxlength="200" required value="{name}"' in page
    assert f'required value="{customer_user.email}"' in page


def test_staff_are_not_taken_for_customers(client: Client, agent) -> None:
    client.force_login(agent)

    page = client.get("/support/chat/").content.decode()

    assert 'maxlength="200" required value=""' in page
    assert 'maxlength="254" required value=""' in page


def test_the_page_only_answers_get(client: Client) -> None:
    assert client.post("/support/chat/").status_code == 405


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("chat/chat.js", "/ws/chat/"),
        ("chat/widget.js", "window.HelpdeskChat"),
        ("chat/chat.css", ".chat-log"),
    ],
)
def test_chat_and_widget_are_served_as_static_files(
    client: Client, settings, path: str, needle: str
) -> None:
    # As in development: WhiteNoise serves from the finders (tests do not collectstatic).
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    assert finders.find(path) is not None

    response = client.get(f"/static/{path}")

    assert response.status_code == 200
    content_type = "text/css" if path.endswith(".css") else "text/javascript"
    assert response.headers["Content-Type"].startswith(content_type)
    assert needle in b"".join(response.streaming_content).decode()
