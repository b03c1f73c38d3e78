"""A custom field's definition refused in the admin in the reader's language (the admin's
pages follow the browser's): each check in German for a German browser, English stays."""

import pytest
from django.utils.html import escape

from tickets.models import TicketField

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
BASE = {
    "customer_label": "", "help_text": "", "position": "0", "active": "on",
    "pattern_message": "", "choices-TOTAL_FORMS": "0", "choices-INITIAL_FORMS": "0",
}  # fmt: skip


@pytest.mark.parametrize(
    ("headers", "said"),
    [
        (
            GERMAN,
            [
                "Nur Textfelder haben eine Höchstlänge.",
                "Das Maximum liegt unter dem Minimum.",
                "Kleinbuchstaben, Ziffern und _, beginnend mit einem Buchstaben (höchstens 40).",
            ],
        ),
        (
            ENGLISH,
            [
                "Only text fields have a maximum length.",
                "The maximum is below the minimum.",
                "Lower-case letters, digits and _, starting with a letter (at most 40).",
            ],
        ),
    ],
)
def test_a_wrong_definition_is_explained_in_the_readers_language(admin_user, client, headers, said):
    client.force_login(admin_user)
    response = client.post(
        "/admin/tickets/ticketfield/add/",
        {**BASE, "agent_label": "Plätze", "key": "Plätze", "kind": "number", "min_value": "10",
         "max_value": "5", "max_length": "20", "pattern": ""},
        **headers,
    )  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 200
    for sentence in said:
        assert escape(sentence) in page
    assert not TicketField.objects.exists()


@pytest.mark.parametrize(
    ("headers", "said"),
    [
        (GERMAN, "Eine Auswahlliste oder Mehrfachauswahl braucht mindestens einen Auswahlwert."),
        (ENGLISH, "A drop-down or multi-select needs at least one choice."),
    ],
)
def test_a_drop_down_without_choices_is_refused_in_the_readers_language(
    admin_user, client, headers, said
):
    client.force_login(admin_user)
    response = client.post(
        "/admin/tickets/ticketfield/add/",
        {**BASE, "agent_label": "Größe", "key": "size", "kind": "dropdown", "pattern": ""},
        **headers,
    )
    assert response.status_code == 200
    assert escape(said) in response.content.decode()
    assert not TicketField.objects.exists()
