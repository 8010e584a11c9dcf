"""Link rewriting for tracking: web links go through the click redirect, nothing else is touched."""

from __future__ import annotations

from urllib.parse import quote

from services.campaigns.domain.links import track_links, tracked_html, with_pixel

OURS = "https://cdp.example/t/"


def click(url: str) -> str:
    return f"{OURS}click/ws/s1/tok?u={quote(url, safe='')}"


def test_web_links_are_rewritten_with_their_quote_character_kept() -> None:
    html = """<p><a href="https://shop.example/a">A</a> <a class='x' href='http://shop.example/b'>B</a></p>"""
    out = track_links(html, click, OURS)
    assert f'href="{click("https://shop.example/a")}"' in out
    assert f"href='{click('http://shop.example/b')}'" in out
    assert ">A</a>" in out and "class='x'" in out


def test_mailto_anchors_tel_and_our_own_links_are_untouched() -> None:
    html = (
        '<a href="mailto:help@shop.example">m</a><a href="#top">t</a><a href="tel:+100">p</a>'
        f'<a href="{OURS}unsubscribe/ws/c1/tok?s=send-1">Unsubscribe</a><a href="/relative">r</a>'
    )
    assert track_links(html, click, OURS) == html


def test_the_url_handed_over_is_the_one_written_and_escaped_again() -> None:
    # Jinja's autoescape wrote `&` as `&amp;`: the redirect must lead to `a=1&b=2`, not `a=1&amp;b=2`.
    seen: list[str] = []

    def spy(url: str) -> str:
        seen.append(url)
        return f"{OURS}click?u=1&v=2"

    out = track_links('<a href="https://shop.example/?a=1&amp;b=2">x</a>', spy, OURS)
    assert seen == ["https://shop.example/?a=1&b=2"]
    assert out == f'<a href="{OURS}click?u=1&amp;v=2">x</a>'


def test_bare_values_upper_case_and_other_tags() -> None:
    html = "<A HREF=https://shop.example/x>X</A><area href='https://shop.example/y'>"
    out = track_links(html, click, OURS)
    assert f'HREF="{click("https://shop.example/x")}"' in out
    assert f"href='{click('https://shop.example/y')}'" in out


def test_text_outside_tags_and_lookalike_attributes_are_not_links() -> None:
    html = '<p>write href="https://shop.example/x" in text</p><a data-href="https://shop.example/y">y</a>'
    assert track_links(html, click, OURS) == html


def test_a_gt_inside_a_quoted_attribute_does_not_end_the_tag() -> None:
    html = '<a title="a > b" href="https://shop.example/z">z</a>'
    assert click("https://shop.example/z") in track_links(html, click, OURS)


def test_an_unclosed_tag_fails_fast_and_changes_nothing() -> None:
    html = "<a " + "x" * 50_000
    assert track_links(html, click, OURS) == html


def test_the_pixel_goes_before_the_body_end_or_at_the_end() -> None:
    pixel = f"{OURS}open/ws/s1/tok.gif"
    tag = f'<img src="{pixel}" width="1" height="1" alt="">'
    assert with_pixel("<p>hi</p>", pixel) == f"<p>hi</p>{tag}"
    assert with_pixel("<html><body><p>hi</p></BODY></html>", pixel) == (
        f"<html><body><p>hi</p>{tag}</BODY></html>"
    )


def test_tracked_html_does_both_and_leaves_an_empty_part_empty() -> None:
    out = tracked_html('<a href="https://shop.example/">s</a>', click, f"{OURS}open.gif", OURS)
    assert click("https://shop.example/") in out and out.endswith(
        f'<img src="{OURS}open.gif" width="1" height="1" alt="">'
    )
    assert tracked_html("", click, f"{OURS}open.gif", OURS) == ""
