"""Templates: personalization from the profile, a sandbox, and the unsubscribe link."""

from __future__ import annotations

import pytest

from services.campaigns.domain.templates import TemplateProblem, check_template, customer_context, render

ANN = customer_context(
    {"first_name": "Ann", "email": "ann@example.com", "traits": {"plan": "pro"}, "city": None}
)
UNSUB = "http://127.0.0.1:8000/api/outbox/unsubscribe/tok123"


def test_fields_and_traits_render() -> None:
    out = render(
        "Hi {{ customer.first_name }}",
        "<b>{{ customer.plan }}</b>",
        "{{ customer.traits.plan }}",
        {"customer": ANN},
    )
    assert (out.subject, out.html, out.text) == ("Hi Ann", "<b>pro</b>", "pro")


def test_missing_fields_render_as_nothing() -> None:
    out = render("Hi {{ customer.nickname }}{{ customer.city.name }}", "", "", {"customer": ANN})
    assert out.subject == "Hi"


def test_html_is_escaped_but_text_is_not() -> None:
    evil = customer_context({"first_name": "<script>x</script>"})
    out = render("s", "{{ customer.first_name }}", "{{ customer.first_name }}", {"customer": evil})
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html
    assert out.text == "<script>x</script>"


def test_the_sandbox_refuses_reaching_python() -> None:
    with pytest.raises(TemplateProblem):
        render("{{ customer.__class__.__mro__[1].__subclasses__() }}", "", "", {"customer": ANN})


def test_marketing_email_gets_an_unsubscribe_footer() -> None:
    out = render("s", "<p>hello</p>", "hello", {"customer": ANN}, unsubscribe_url=UNSUB)
    assert f'href="{UNSUB}"' in out.html
    assert out.text.endswith(f"Unsubscribe: {UNSUB}")


def test_a_placed_unsubscribe_link_is_not_repeated() -> None:
    html = '<a href="{{ unsubscribe_url }}">Stop</a>'
    out = render("s", html, "Stop: {{ unsubscribe_url }}", {"customer": ANN}, unsubscribe_url=UNSUB)
    assert out.html.count(UNSUB) == 1 and out.text.count(UNSUB) == 1


def test_transactional_email_has_no_footer() -> None:
    assert "Unsubscribe" not in render("s", "<p>x</p>", "x", {"customer": ANN}).html


def test_check_template_points_at_the_error() -> None:
    assert check_template("{{ ok }}") is None
    problem = check_template("line\n{% if %}")
    assert problem is not None and "line 2" in problem
