"""Email templates: subject, HTML and text rendered in a sandboxed Jinja2 environment.

The sandbox refuses attribute tricks (`__class__`, `mro`, ...), so a marketer's template cannot reach
Python. Missing fields render as nothing rather than failing a send. Every marketing email carries
an unsubscribe link: when the template does not place `{{ unsubscribe_url }}`, a footer is added.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

_HTML = SandboxedEnvironment(autoescape=True, undefined=ChainableUndefined)
_PLAIN = SandboxedEnvironment(autoescape=False, undefined=ChainableUndefined)
UNSUBSCRIBE_VARIABLE = "unsubscribe_url"


@lru_cache(maxsize=1024)
def _compiled(source: str, html: bool) -> Template:
    """A template's compiled form: a flow sends the same few templates to every customer, and
    compiling one costs more than rendering it."""
    return (_HTML if html else _PLAIN).from_string(source)


class TemplateProblem(Exception):
    """A template does not compile or fails to render; the message says where."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


def check_template(source: str) -> str | None:
    """Why the source does not compile, or None."""
    try:
        _PLAIN.parse(source)
    except TemplateError as error:
        line = getattr(error, "lineno", None)
        return f"template error{f' on line {line}' if line else ''}: {error}"
    return None


def customer_context(profile: dict[str, Any]) -> dict[str, Any]:
    """What `{{ customer.x }}` can name: every profile field, and every trait by its own name too."""
    traits = profile.get("traits") or {}
    return {**traits, **{k: v for k, v in profile.items() if v is not None}, "traits": traits}


def render(
    subject: str,
    html: str,
    text: str,
    context: dict[str, Any],
    *,
    unsubscribe_url: str | None = None,
) -> Rendered:
    """The three parts rendered; with `unsubscribe_url` (a marketing email), the link is always in."""
    values = {**context, UNSUBSCRIBE_VARIABLE: unsubscribe_url or ""}
    try:
        rendered = Rendered(
            subject=" ".join(_compiled(subject, False).render(values).split()),
            html=_compiled(html, True).render(values),
            text=_compiled(text, False).render(values),
        )
    except TemplateError as error:
        raise TemplateProblem(f"template failed to render: {error}") from error
    if unsubscribe_url is None:
        return rendered
    html_out, text_out = rendered.html, rendered.text
    if UNSUBSCRIBE_VARIABLE not in html or unsubscribe_url not in html_out:
        footer = _compiled('<p><a href="{{ u }}">Unsubscribe</a></p>', True).render(u=unsubscribe_url)
        html_out = f"{html_out}\n{footer}" if html_out else footer
    if unsubscribe_url not in text_out:
        text_out = f"{text_out}\n\nUnsubscribe: {unsubscribe_url}".lstrip()
    return Rendered(rendered.subject, html_out, text_out)
