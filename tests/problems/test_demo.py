"""The demo data holds what an agent needs to try problems: products, customers' services,
and a burst of tickets alike that the spike detector tells of."""

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from tickets.models import Product, Service, Spike, Ticket

pytestmark = pytest.mark.django_db


def test_the_demo_burst_is_a_spike_of_one_product_in_one_region(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.DEBUG = settings.HELPDESK_SPIKES = True
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())

    spike = Spike.objects.get()
    assert "Acme Connect in EU-West" in spike.label
    burst = Ticket.objects.filter(pk__in=spike.ticket_ids)
    assert burst.count() == 6
    assert {t.service.region for t in burst.select_related("service")} == {"EU-West"}
    assert Product.objects.get(name="Acme Connect").articles.exists()
    services = Service.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())
    assert Spike.objects.count() == 1 and Service.objects.count() == services
