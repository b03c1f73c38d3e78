"""The German catalogue is complete for everything customers see, and the compiled .mo
files (committed, so installing needs no gettext tools) match the .po files."""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "locale" / "de" / "LC_MESSAGES"
TEMPLATES = ROOT / "templates"
# What customers see; the admin stays English.
CUSTOMER_TEMPLATES = [
    TEMPLATES / "base.html",
    TEMPLATES / "_language_switch.html",
    *sorted((TEMPLATES / "kb").glob("*.html")),
    *sorted((TEMPLATES / "support").glob("*.html")),
    *sorted((TEMPLATES / "registration").glob("*.html")),
    *sorted((TEMPLATES / "account").glob("*.html")),
]
_CALL = re.compile(r"\b(n?p?gettext)\((u'(?:[^'\\]|\\.)*'(?:, u'(?:[^'\\]|\\.)*')*)")
_ENTRY_FIELD = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d\])?) ((?:".*"\n?)+)', re.M)


def read_po(path: Path) -> dict[tuple[str, str], dict[str, object]]:
    """(context, msgid) -> {"strs": [msgstr...], "fuzzy": bool}, the header left out."""
    entries = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        for name, quoted in _ENTRY_FIELD.findall(block + "\n"):
            parts = re.findall(r'"((?:[^"\\]|\\.)*)"', quoted)
            fields[name] = ast.literal_eval('"' + "".join(parts) + '"')
        if not fields.get("msgid"):
            continue
        strs = [v for k, v in sorted(fields.items()) if k.startswith("msgstr")]
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in block.splitlines())
        entries[(fields.get("msgctxt", ""), fields["msgid"])] = {"strs": strs, "fuzzy": fuzzy}
    return entries


def template_msgids(path: Path) -> set[tuple[str, str]]:
    found = set()
    for function, arguments in _CALL.findall(templatize(path.read_text(encoding="utf-8"))):
        values = ast.literal_eval(f"({arguments},)")
        context = values[0] if function.startswith(("pgettext", "npgettext")) else ""
        msgid = values[1] if context else values[0]
        found.add((context, msgid))
    return found


@pytest.mark.parametrize("path", CUSTOMER_TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_string_of_customer_pages_has_a_german_translation(path):
    catalogue = read_po(LOCALE / "django.po")
    used = template_msgids(path)
    missing = sorted(msgid for msgid in used if msgid not in catalogue)
    assert not missing, f"run makemessages and translate: {missing}"
    untranslated = sorted(
        msgid
        for msgid in used
        if catalogue[msgid]["fuzzy"] or not all(catalogue[msgid]["strs"])  # type: ignore[arg-type]
    )
    assert not untranslated, untranslated


# The agents' workspace, and the weekly summary mailed to its readers.
WORKSPACE_TEMPLATES = sorted((TEMPLATES / "agent").rglob("*.html"))


@pytest.mark.parametrize("path", WORKSPACE_TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_string_of_the_workspace_has_a_german_translation(path):
    test_every_string_of_customer_pages_has_a_german_translation(path)


def test_customer_templates_use_the_catalogue_at_all():
    assert sum(len(template_msgids(path)) for path in CUSTOMER_TEMPLATES) > 200


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_whole_catalogue_is_translated_with_no_fuzzy_entry(domain):
    catalogue = read_po(LOCALE / f"{domain}.po")
    assert catalogue
    bad = [msgid for msgid, e in catalogue.items() if e["fuzzy"] or not all(e["strs"])]  # type: ignore[arg-type]
    assert not bad, bad


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_compiled_catalogue_matches_the_po_file(domain):
    with (LOCALE / f"{domain}.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    catalogue = read_po(LOCALE / f"{domain}.po")
    for (context, msgid), entry in catalogue.items():
        key = f"{context}\x04{msgid}" if context else msgid
        strs = entry["strs"]
        assert isinstance(strs, list)
        if len(strs) == 1:
            assert compiled._catalog.get(key) == strs[0], (  # type: ignore[attr-defined]
                f"{domain}.mo is out of date: run `manage.py compilemessages` ({msgid!r})"
            )
        else:
            for number, text in enumerate(strs):
                assert compiled._catalog.get((key, number)) == text, msgid  # type: ignore[attr-defined]


# The scripts' strings, for customers (static/chat) and agents (static/js): each call of
# gettext, named `_` in them, has its German translation in djangojs.po.
SCRIPTS = sorted([*(ROOT / "static" / "chat").glob("*.js"), *(ROOT / "static" / "js").glob("*.js")])
_SCRIPT_CALL = re.compile(r"""\b_\(\s*"((?:[^"\\]|\\.)*)"\s*\)""")


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_string_of_the_scripts_has_a_german_translation(path):
    catalogue = read_po(LOCALE / "djangojs.po")
    used = {ast.literal_eval(f'"{text}"') for text in _SCRIPT_CALL.findall(path.read_text())}
    missing = sorted(msgid for msgid in used if ("", msgid) not in catalogue)
    assert not missing, f"run makemessages -d djangojs and translate: {missing}"


def test_the_workspace_scripts_are_translated_at_all():
    used = _SCRIPT_CALL.findall((ROOT / "static" / "js" / "agent.js").read_text())
    assert "Your unsent text was kept." in used
