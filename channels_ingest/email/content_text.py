"""Turning email bodies into the text agents read: flowed text, HTML, quoted history."""

import html
import logging
import re

import html2text
import nh3
from mailparser_reply.parser import EmailMessage as ReplyParser

from channels_ingest.email.parse_headers import clean_text

logger = logging.getLogger(__name__)

# Languages whose reply headers ("On ... wrote:", "Am ... schrieb ...:") are recognised.
REPLY_LANGUAGES = ("en", "de", "fr", "es", "it", "nl")
# The reply parser's expressions grow faster than linearly on long lines; the newest reply
# is near the top, so only this much of a body is looked at (the rest is kept as it is).
_TRIM_MAX_LINES = 500
_TRIM_MAX_LINE_CHARS = 160
# HTML beyond this size, or nested deeper than this, is converted by a simpler, linear
# fallback: nh3 (html5ever) takes time in proportion to size times depth, and html2text
# indents every line by its list and quote depth.
_HTML_MAX_CHARS = 512 * 1024
_HTML_MAX_DEPTH = 100
_HTML_MAX_INDENT = 10
_HTML_MAX_ELEMENTS = 20_000

# A forwarded message inside the text: what follows is the point of the message, not history.
_FORWARD_MARKER = re.compile(
    r"^\s*(?:-{2,}\s*(?:forwarded message|weitergeleitete nachricht|message transf[ée]r[ée]|"
    r"mensaje reenviado|messaggio inoltrato|doorgestuurd bericht)\s*-{2,}|"
    r"begin forwarded message:|anfang der weitergeleiteten nachricht:|"
    r"d[ée]but du message r[ée]exp[ée]di[ée]\s*:)\s*$",
    re.IGNORECASE,
)
# A horizontal rule: what html2text makes of <hr>, and Outlook's underscores.
_RULE = re.compile(r"^\s*(?:[*_=-]\s*){3,}$|^\s*$")
# Subjects of forwarded mail (English, German, French, Spanish, Dutch, Portuguese clients).
_FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|wg|tr|rv|doorst|enc)\s*:", re.IGNORECASE)


def normalise(text: str) -> str:
    """LF newlines, no control characters, no trailing whitespace, no blank lines around."""
    lines = [line.rstrip() for line in clean_text(text).split("\n")]
    return "\n".join(lines).strip("\n")


def unflow(text: str, *, delsp: bool) -> str:
    """Join the soft line breaks of format=flowed text (RFC 3676) and undo space-stuffing."""
    out: list[str] = []
    pending: str | None = None
    pending_depth = 0

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            prefix = ">" * pending_depth + (" " if pending_depth and pending else "")
            out.append(prefix + pending)
        pending = None

    for line in text.replace("\r\n", "\n").split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        if pending is not None and depth == pending_depth:
            pending += content
        else:
            flush()
            pending, pending_depth = content, depth
        if not flowed:
            flush()
    flush()
    return "\n".join(out)


# Every expression here fails fast (no unbounded scan per attempt), so hostile markup such as
# a hundred thousand unclosed tags costs linear time.
_INVISIBLE_OPEN = re.compile(r"<(script|style|head|title)\b", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]*>")
# What html2text makes text of; everything else is unwrapped to its text by nh3.
_TEXT_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt",
    "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "q",
    "s", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_LINK_SCHEMES = {"http", "https", "mailto", "tel"}
_BLOCK = re.compile(r"<\s*(?:br|/p|/div|/tr|/li|/h\d|/blockquote|hr)\b[^<>]*>", re.IGNORECASE)


def _without_invisible(markup: str) -> str:
    """Markup without script, style, head and title elements.

    An unclosed script or style runs to the end (as in a browser); an unclosed head ends at
    the body; an unclosed title is only a tag.
    """
    lowered = markup.lower()
    kept: list[str] = []
    position = 0
    while (match := _INVISIBLE_OPEN.search(markup, position)) is not None:
        kept.append(markup[position : match.start()])
        name = match.group(1).lower()
        close = lowered.find(f"</{name}", match.end())
        if close >= 0:
            end = lowered.find(">", close)
            position = len(markup) if end < 0 else end + 1
        elif name in ("script", "style"):
            return "".join(kept)
        else:
            body = lowered.find("<body", match.end()) if name == "head" else -1
            tag_end = lowered.find(">", match.end())
            position = body if body >= 0 else len(markup) if tag_end < 0 else tag_end + 1
    kept.append(markup[position:])
    return "".join(kept)


def html_to_text(markup: str) -> str:
    """Readable text from an HTML body: paragraphs and links kept, no wrapping.

    The markup is first made well-formed by nh3 (linear): Python's HTML parser, under
    html2text, takes quadratic time on unclosed attributes and comments.
    """
    markup = _without_invisible(markup[: _HTML_MAX_CHARS * 4])
    if len(markup) < _HTML_MAX_CHARS and _tame(markup):
        try:
            tidy = nh3.clean(
                markup,
                tags=_TEXT_TAGS,
                attributes={"a": {"href"}},
                url_schemes=_LINK_SCHEMES,
                link_rel=None,
                strip_comments=True,
            )
            if len(tidy) < 2 * _HTML_MAX_CHARS:
                return _collapse_blank_lines(normalise(_converter().handle(tidy)))
        except Exception as error:  # not built for hostile markup: fall back below
            logger.info("HTML to text failed (%s); using the simple way", type(error).__name__)
    text = _TAG.sub("", _BLOCK.sub("\n", markup))
    return _collapse_blank_lines(normalise(html.unescape(text)))


def _converter() -> html2text.HTML2Text:
    converter = html2text.HTML2Text(bodywidth=0)
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.ignore_tables = True
    converter.unicode_snob = True
    converter.skip_internal_links = True
    return converter


def text_to_html(text: str) -> str:
    return "<div>" + html.escape(text).replace("\n", "<br>\n") + "</div>"


_ELEMENT = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]{0,20})\b[^<>]*?(/?)>")
# Elements that never nest: void, or closed by the parser when the next one starts.
_FLAT_ELEMENTS = {
    "area", "base", "br", "col", "dd", "dt", "embed", "hr", "img", "input", "li", "link",
    "meta", "option", "p", "param", "source", "td", "th", "tr", "track", "wbr",
}  # fmt: skip
_INDENTING_ELEMENTS = {"blockquote", "dl", "ol", "ul"}


def _tame(markup: str) -> bool:
    """Few enough elements, nested shallowly enough (an upper estimate), for the converter."""
    depth = deepest = indent = deepest_indent = 0
    for count, match in enumerate(_ELEMENT.finditer(markup)):
        if count > _HTML_MAX_ELEMENTS:
            return False
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if name in _FLAT_ELEMENTS or self_closing:
            continue
        step = -1 if closing else 1
        depth = max(0, depth + step)
        deepest = max(deepest, depth)
        if name in _INDENTING_ELEMENTS:
            indent = max(0, indent + step)
            deepest_indent = max(deepest_indent, indent)
    return deepest <= _HTML_MAX_DEPTH and deepest_indent <= _HTML_MAX_INDENT


def _collapse_blank_lines(text: str) -> str:
    """At most one blank line in a row (HTML layouts produce many)."""
    return re.sub(r"\n{3,}", "\n\n", text)


def trim_reply(text: str, *, subject: str = "") -> str:
    """The newest reply without quoted history or signature; a forward is kept whole.

    If trimming would leave nothing, the text is returned untrimmed.
    """
    if _FORWARD_SUBJECT.match(subject):
        return text
    lines = text.split("\n")
    marker = next((i for i, line in enumerate(lines) if _FORWARD_MARKER.match(line)), None)
    head, tail = (lines, []) if marker is None else (lines[:marker], lines[marker:])
    kept = _newest_reply(head) if any(line.strip() for line in head) else head
    while kept and _RULE.match(kept[-1]):
        kept = kept[:-1]  # the separator that stood above the quoted history
    return "\n\n".join(part for part in ("\n".join(kept), "\n".join(tail)) if part.strip())


def _newest_reply(lines: list[str]) -> list[str]:
    start = next(i for i, line in enumerate(lines) if line.strip())
    lines = lines[start:]
    sample = [line[:_TRIM_MAX_LINE_CHARS] for line in lines[:_TRIM_MAX_LINES]]
    try:
        message = ReplyParser(
            text="\n".join(sample), languages=list(REPLY_LANGUAGES), keep_hyphen_lists=True
        ).read()
    except Exception as error:  # a third-party regex set: never let it cost the message
        logger.info("reply trimming failed: %s", type(error).__name__)
        return lines
    if not message.replies:
        return lines
    newest = message.replies[0]
    if not message.text.startswith(newest.content):
        return lines  # the text opens with a quote header: bottom-posting, keep it all
    kept = newest.content
    if newest.signatures:
        cut = kept.find(newest.signatures)
        kept = kept[:cut] if cut >= 0 else kept
    kept_lines = kept.rstrip().split("\n")
    if not kept.strip():
        return lines
    if len(kept_lines) >= "\n".join(sample).rstrip().count("\n") + 1:
        return lines  # nothing was cut
    # The parser strips every line; take the same lines from the text, indentation intact.
    if all(
        lines[i][:_TRIM_MAX_LINE_CHARS].strip() == kept_lines[i] for i in range(len(kept_lines))
    ):
        return [line.rstrip() for line in lines[: len(kept_lines)]]
    return kept_lines
