from django.db import migrations

NOTICES = [
    (
        "received",
        True,
        "We received your request: {subject}",
        "Hello {name},\n\nwe received your request \"{subject}\" and gave it the reference "
        "{reference}. {first_response_due}\nTo add something, simply reply to this message.\n",
    ),
    (
        "escalated",
        False,
        "Your request {reference} is with our specialists",
        "Hello {name},\n\nyour request \"{subject}\" ({reference}) has been passed to our "
        "specialists, with everything you told us so far.\n",
    ),
    (
        "resolved",
        True,
        "Your request {reference} is resolved",
        "Hello {name},\n\nwe consider your request \"{subject}\" ({reference}) resolved. If the "
        "problem is not solved, reply to this message and we will reopen it.\n",
    ),
]


def seed(apps, schema_editor):
    CustomerNotice = apps.get_model("tickets", "CustomerNotice")
    for kind, enabled, subject, text in NOTICES:
        CustomerNotice.objects.get_or_create(
            kind=kind, defaults={"enabled": enabled, "subject": subject, "text": text}
        )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0007_notices")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
