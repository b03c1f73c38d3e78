"""Write everything held about a customer to a ZIP file (as the customer page's export)."""

from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tickets.errors import DomainError
from tickets.models import Customer
from tickets.privacy.export import customer_export_to_file


class Command(BaseCommand):
    help = (
        "Export a customer's profile, contact points, notes, services and every ticket with "
        "its messages, history and files to a ZIP (customer.json and the files). Recorded "
        "in the audit log."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("customer_id", type=int)
        parser.add_argument("--output", required=True, help="The ZIP file to write.")
        parser.add_argument(
            "--by", default="", help="The admin's username, for the audit log (else: system)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        customer = Customer.objects.filter(pk=options["customer_id"]).first()
        if customer is None:
            raise CommandError(f"No customer {options['customer_id']}.")
        actor = None
        if options["by"]:
            actor = User.objects.filter(username=options["by"]).first()
            if actor is None:
                raise CommandError(f"No user {options['by']!r}.")
        output = Path(options["output"])
        if output.exists():
            raise CommandError(f"{output} exists; name a new file.")
        try:
            with output.open("xb") as out:
                counts = customer_export_to_file(customer=customer, out=out, actor=actor)
        except DomainError as error:
            output.unlink(missing_ok=True)
            raise CommandError(error.message) from None
        self.stdout.write(
            f"Wrote {output}: {counts['tickets']} ticket(s), {counts['messages']} message(s), "
            f"{counts['files']} file(s)."
        )
