from django.db import migrations

TIERS = [
    (0, "Self-service", "Knowledge-base answers offered before a person is needed."),
    (1, "Frontline", "First human contact: triage, common questions, known fixes."),
    (2, "Technical", "Troubleshooting that needs deeper product and system knowledge."),
    (3, "Experts", "Subject-matter experts and engineering: defects, hard cases."),
]


def seed_tiers(apps, schema_editor):
    Tier = apps.get_model("tickets", "Tier")
    for level, name, description in TIERS:
        Tier.objects.get_or_create(
            level=level, defaults={"name": name, "description": description}
        )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [migrations.RunPython(seed_tiers, migrations.RunPython.noop)]
