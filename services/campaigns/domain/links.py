"""Tracking in an email's HTML: every web link rewritten to the click redirect, an open pixel appended. Pure.

Only `http(s)` hrefs inside tags are rewritten; `mailto:`, `tel:`, `#anchors` and links into our own
public prefix (the unsubscribe link) are left as they are. The attribute keeps its quote character,
and the URL is unescaped before it is handed to `click_url` (Jinja's autoescape wrote `&` as `&amp;`)
and escaped again after, so the redirect leads to exactly the URL the author wrote. The text part is
never touched: a plain-text URL rewritten to a long redirect is what a reader sees and may not trust.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape, unescape

# A start tag, its attribute values quoted either way or bare (a `>` inside quotes does not end it).
# Possessive quantifiers: a tag that never closes fails in linear time, not by backtracking.
_TAG = re.compile(r"""<[a-zA-Z][^\s/>]*+(?:\s*+(?:"[^"]*+"|'[^']*+'|[^\s"'>]++))*+\s*+/?>""")
_HREF = re.compile(r"""(?<![\w-])(href\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
_WEB = re.compile(r"^\s*https?://", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def pixel_tag(url: str) -> str:
    """The 1x1 open pixel's `<img>`."""
    return f'<img src="{escape(url, quote=True)}" width="1" height="1" alt="">'


def track_links(html: str, click_url: Callable[[str], str], keep_prefix: str) -> str:
    """`html` with each web link's href replaced by `click_url(original)`, but those under `keep_prefix`."""

    def href(match: re.Match[str]) -> str:
        double, single, bare = match.group(2), match.group(3), match.group(4)
        raw = next(v for v in (double, single, bare) if v is not None)
        url = unescape(raw).strip()
        if not _WEB.match(url) or url.startswith(keep_prefix):
            return match.group(0)
        new = escape(click_url(url), quote=True)
        quote = '"' if double is not None or bare is not None else "'"
        return f"{match.group(1)}{quote}{new}{quote}"

    return _TAG.sub(lambda tag: _HREF.sub(href, tag.group(0)), html)


def with_pixel(html: str, pixel_url: str) -> str:
    """`html` with the open pixel at the end of its body (or at the very end without a `</body>`)."""
    tag = pixel_tag(pixel_url)
    ends = list(_BODY_END.finditer(html))
    if not ends:
        return f"{html}{tag}"
    at = ends[-1].start()
    return f"{html[:at]}{tag}{html[at:]}"


def tracked_html(html: str, click_url: Callable[[str], str], pixel_url: str, keep_prefix: str) -> str:
    """The HTML part as sent: links through the click redirect, the open pixel appended."""
    if not html:
        return html
    return with_pixel(track_links(html, click_url, keep_prefix), pixel_url)
