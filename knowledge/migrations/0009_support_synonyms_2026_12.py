from django.db import migrations


def add_synonyms(apps, schema_editor):
    """Desks made before these groups existed get them; articles are then indexed again
    after migrating (knowledge.apps), since their synonym-group terms change."""
    from knowledge.search.starting_synonyms import ADDED_IN_0009

    Synonym = apps.get_model("knowledge", "Synonym")
    existing = set(Synonym.objects.values_list("words", flat=True))
    new = [words for words in ADDED_IN_0009 if words not in existing]
    if not new:
        return
    Synonym.objects.bulk_create([Synonym(words=words) for words in new])
    apps.get_model("knowledge", "ArticleTerm").objects.all().delete()
    apps.get_model("knowledge", "SearchTerm").objects.update(articles=0)


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0008_search_index_covering"),
    ]

    operations = [
        migrations.RunPython(add_synonyms, migrations.RunPython.noop),
    ]
