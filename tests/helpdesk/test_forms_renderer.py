"""The form renderer writes, in Python, exactly what Django's widget templates write."""

import importlib
from datetime import UTC, datetime

import pytest
from django import forms
from django.conf import settings
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.test import override_settings
from django.utils.safestring import mark_safe

from helpdesk.forms_renderer import WidgetRenderer

PROJECT_FORM_MODULES = (
    "tickets.workspace.forms",
    "tickets.portal.forms",
    "tickets.report_views",
    "tickets.admin",
    "channels_ingest.web.forms",
    "channels_ingest.admin",
    "knowledge.views",
    "knowledge.suggest_views",
)


class EdgeCases(forms.Form):
    text = forms.CharField(
        initial='say "<hi>" & go',
        widget=forms.TextInput(attrs={"placeholder": "a & b", "autofocus": True, "hidden": False}),
    )
    grouped = forms.ChoiceField(
        choices=[("Group <1>", [("1", "one <1>"), ("2", "two")]), ("3", "three")], initial="2"
    )
    several = forms.MultipleChoiceField(choices=[(1, 1000), (2, "b & c")], initial=[1, 2])
    notes = forms.CharField(widget=forms.Textarea, initial="line 1\n<b>line 2</b>")
    empty_notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), initial="")
    number = forms.IntegerField(initial=1234567, min_value=0)
    secret = forms.CharField(widget=forms.HiddenInput, initial=mark_safe("<i>safe</i>"))
    email = forms.EmailField()
    password = forms.CharField(widget=forms.PasswordInput)
    url = forms.URLField(assume_scheme="https", initial="https://example.com/?a=1&b=2")
    agree = forms.BooleanField()
    day = forms.DateField()


def _project_forms() -> list[type[forms.BaseForm]]:
    for module in PROJECT_FORM_MODULES:
        importlib.import_module(module)
    found, todo = [], [forms.Form, forms.ModelForm]
    while todo:
        for subclass in todo.pop().__subclasses__():
            todo.append(subclass)
            if subclass.__module__.split(".")[0] in ("tickets", "channels_ingest", "knowledge"):
                found.append(subclass)
    return found


def _instances(form_class: type[forms.BaseForm]) -> list[forms.BaseForm]:
    """The form empty and bound to nothing (its fields then carry their errors' attributes);
    forms that need arguments of their own are left out."""
    try:
        return [form_class(), form_class(data={})]
    except TypeError:
        return []


def _widgets(form: forms.BaseForm, renderer: object) -> list[str]:
    form.renderer = renderer
    return [str(field) for field in form]


def test_every_project_form_renders_as_with_djangos_templates(db):
    classes = _project_forms()
    assert len(classes) >= 10  # the search found the project's forms
    rendered = 0
    for form_class in classes:
        for form in _instances(form_class):
            ours = _widgets(form, WidgetRenderer())
            assert ours == _widgets(form, DjangoTemplates()), form_class
            rendered += len(ours)
    assert rendered >= 40


@pytest.mark.parametrize("data", [None, {"text": "<x>", "grouped": "1", "several": ["2"]}])
def test_escaping_groups_safe_values_and_numbers_render_as_with_djangos_templates(data):
    form = EdgeCases(data=data)
    assert _widgets(form, WidgetRenderer()) == _widgets(form, DjangoTemplates())
    text = str(EdgeCases()["text"])
    assert 'value="say &quot;&lt;hi&gt;&quot; &amp; go"' in text
    assert " autofocus" in text and "hidden" not in text


class Marked:
    """Not a string, but with __html__: printed escaped, as str() of it."""

    def __html__(self) -> str:
        return "<b>marked</b>"

    def __str__(self) -> str:
        return "<b>marked</b>"


class OwnOptions(forms.Select):
    option_template_name = "django/forms/widgets/input_option.html"


class Unusual(forms.Form):
    when = forms.ChoiceField(
        choices=[(1, datetime(2024, 1, 1, 23, 30, tzinfo=UTC)), (2, Marked())],
    )
    own = forms.ChoiceField(choices=[("a", "A")], widget=OwnOptions)


@override_settings(TIME_ZONE="Asia/Tokyo")
def test_times_objects_and_options_with_their_own_template_render_as_with_djangos():
    form = Unusual()
    ours = _widgets(form, WidgetRenderer())
    assert ours == _widgets(form, DjangoTemplates())
    assert "Jan. 2, 2024, 8:30 a.m." in ours[0]  # in the current time zone
    assert "&lt;b&gt;marked&lt;/b&gt;" in ours[0]
    assert "<option" not in ours[1]  # the widget's own option template was used


def test_the_project_renders_forms_with_it():
    assert settings.FORM_RENDERER == "helpdesk.forms_renderer.WidgetRenderer"
    assert isinstance(get_default_renderer(), WidgetRenderer)
