"""Django's form renderer, with its plainest widget templates written in Python.

Every select, text box and text area of a page goes through the template engine, and a
select includes one more template per option: the queue page's filters cost 3.7 ms of
CPU that way on the benchmark machine, about a tenth of the page (docs/benchmarks.md).
The templates below are rendered here instead, to the same markup (a test renders every
widget of the project's forms both ways); any other template, and a select whose options
have a template of their own, go to Django as before. (Under this renderer Django's own
form templates come first, so no app can override these.)
"""

from collections.abc import Callable
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # not in the stubs

_INPUT = "django/forms/widgets/input.html"
_OPTION = "django/forms/widgets/select_option.html"


def _as_string(value: Any) -> str:
    """`{{ value|stringformat:'s' }}`: str(), escaped unless safe (the filter keeps safety)."""
    return str(conditional_escape(value if isinstance(value, str) else str(value)))


def _text(value: Any) -> str:
    """`{{ value }}`, as django.template.base.render_value_in_context writes it."""
    return _as_string(localize(template_localtime(value)))


def _attrs(attrs: dict[str, Any]) -> str:
    """django/forms/widgets/attrs.html."""
    return "".join(
        f" {_text(name)}" if value is True else f' {_text(name)}="{_as_string(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input(widget: dict[str, Any]) -> str:
    value = widget["value"]
    shown = "" if value is None else f' value="{_as_string(value)}"'
    return (
        f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{shown}'
        f"{_attrs(widget['attrs'])}>"
    )


def _option(option: dict[str, Any]) -> str:
    return (
        f'<option value="{_as_string(option["value"])}"{_attrs(option["attrs"])}>'
        f"{_text(option['label'])}</option>"
    )


def _select(widget: dict[str, Any]) -> str:
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        # Each option is an included template, with its file's final line break.
        parts.extend(f"\n  {_option(option)}\n" for option in group_choices)
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def _textarea(widget: dict[str, Any]) -> str:
    value = _text(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>'


# The templates and what they write (Django's renderer strips the result, as here).
_WRITERS: dict[str, Callable[[dict[str, Any]], str]] = {
    _INPUT: _input,
    **{
        f"django/forms/widgets/{kind}.html": _input  # each only includes input.html
        for kind in ("text", "number", "email", "url", "password", "hidden", "search", "tel")
    },
    "django/forms/widgets/select.html": _select,
    _OPTION: _option,
    "django/forms/widgets/textarea.html": _textarea,
}


class WidgetRenderer(DjangoTemplates):
    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        write = _WRITERS.get(template_name)
        if write is None or "widget" not in context or _own_option_template(context["widget"]):
            return super().render(template_name, context, request=request)
        return write(context["widget"])


def _own_option_template(widget: dict[str, Any]) -> bool:
    """A select whose options have a template of their own (option_template_name)."""
    return any(
        option["template_name"] != _OPTION
        for _name, options, _index in widget.get("optgroups", ())
        for option in options
    )
