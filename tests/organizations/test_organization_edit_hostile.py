"""Editing an organization with what a form should refuse: a name taken or blank, text
holding a NUL character, a public mail domain typed in full-width letters. The page comes
back with what was typed and why, and nothing is saved."""

import pytest
from django.test import Client

from tests.factories import LeadFactory, OrganizationFactory
from tickets.models import Organization, OrganizationDomain

pytestmark = pytest.mark.django_db

FULL_WIDTH_GMAIL = "\uff47\uff4d\uff41\uff49\uff4c.com"  # gmail.com in full-width letters


@pytest.fixture
def lead_client(db: None) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(LeadFactory(username="lead"))
    return client


@pytest.mark.parametrize(
    ("name", "notes", "said"),
    [
        ("Globex", "Renewal talks in May.", "Another organization is called Globex."),
        ("   ", "Renewal talks in May.", "An organization needs a name."),
        ("Acme\x00", "Renewal talks in May.", "Remove the NUL character"),
        ("Acme Ltd", "Renewal\x00 talks in May.", "Remove the NUL character"),
    ],
)
def test_a_refused_edit_comes_back_with_what_was_typed(lead_client, name, notes, said):
    acme = OrganizationFactory(name="Acme", notes="Old notes.")
    OrganizationFactory(name="Globex")

    response = lead_client.post(
        f"/agent/organizations/{acme.pk}/edit/", {"name": name, "notes": notes}
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert said in page
    assert "talks in May.</textarea>" in page
    acme.refresh_from_db()
    assert (acme.name, acme.notes) == ("Acme", "Old notes.")


def test_a_saved_edit_still_goes_back_to_the_page(lead_client):
    acme = OrganizationFactory(name="Acme")

    response = lead_client.post(
        f"/agent/organizations/{acme.pk}/edit/", {"name": "Acme Ltd", "notes": "Renewal."}
    )

    assert response.status_code == 302 and response.url == f"/agent/organizations/{acme.pk}/"
    assert Organization.objects.get(pk=acme.pk).name == "Acme Ltd"


def test_a_public_mail_domain_in_full_width_letters_is_refused(lead_client):
    acme = OrganizationFactory(name="Acme")

    response = lead_client.post(
        f"/agent/organizations/{acme.pk}/domains/", {"domain": FULL_WIDTH_GMAIL}, follow=True
    )

    assert "gmail.com is a public mail service" in response.content.decode()
    assert not OrganizationDomain.objects.exists()


def test_a_domain_in_full_width_letters_is_kept_as_addresses_spell_it(lead_client):
    acme = OrganizationFactory(name="Acme")

    lead_client.post(
        f"/agent/organizations/{acme.pk}/domains/", {"domain": "\uff21\uff23\uff2d\uff25.example"}
    )

    assert list(OrganizationDomain.objects.values_list("domain", flat=True)) == ["acme.example"]
