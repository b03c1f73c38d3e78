"""MIME boundaries matched without a regular expression per boundary: the same MIME trees.

Every golden email and a set of awkward boundaries are parsed by the email package twice,
once with its own per-boundary expression and once with the matcher, and must come out the
same: parts, payloads, preambles, epilogues and defects.
"""

import re
import sys
from email import feedparser
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32, default
from pathlib import Path
from typing import Any

import pytest

from channels_ingest.email import boundaries

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.eml"))


def multipart(boundary: str, *, close: str = "--{b}--\r\n", newline: str = "\r\n") -> bytes:
    """Two parts and a preamble and epilogue, with `boundary` and the given closing line."""
    lines = [
        "From: a@example.com",
        "Subject: boundaries",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
        "",
        "preamble",
        f"--{boundary}",
        "Content-Type: text/plain",
        "",
        "first part",
        f"--{boundary}   ",  # whitespace after a boundary is allowed
        "Content-Type: text/plain",
        "",
        f"--{boundary}x is text, not a boundary",
        f"-{boundary}",
    ]
    text = newline.join(lines) + newline + close.format(b=boundary) + "epilogue" + newline
    return text.encode()


AWKWARD = {
    "regex characters": multipart("a.b*c+d?e(f)g[h]i{j}k|l^m$n/o:p,q"),
    "spaces and quotes": multipart("=_Part 0 'x' = y"),
    "closing without newline": multipart("simple", close="--{b}--"),
    "closing with trailing text": multipart("simple", close="--{b}-- trailing\r\n"),
    "unix newlines": multipart("unix", newline="\n"),
    "old mac newlines": multipart("mac", newline="\r"),
    "no closing boundary": multipart("open", close=""),
    "nested": (
        b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n--outer\r\n'
        b'Content-Type: multipart/alternative; boundary="outer-inner"\r\n\r\n'
        b"--outer-inner\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
        b"--outer-inner\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n"
        b"--outer-inner--\r\n--outer\r\nContent-Type: text/plain\r\n\r\nlast\r\n--outer--\r\n"
    ),
}


def tree(message: Message) -> list[Any]:
    """What a reader of the parsed message can see, part by part."""
    return [
        (
            part.get_content_type(),
            part.get_boundary(),
            part.preamble,
            part.epilogue,
            [type(defect).__name__ for defect in part.defects],
            None if part.is_multipart() else part.get_payload(decode=True),
        )
        for part in message.walk()
    ]


def parse_both(raw: bytes, policy: Any) -> tuple[list[Any], list[Any]]:
    module = vars(feedparser)
    matcher_re = module["re"]
    try:
        module["re"] = re  # the email package's own way
        own = tree(BytesParser(policy=policy).parsebytes(raw))
    finally:
        module["re"] = matcher_re
    return own, tree(BytesParser(policy=policy).parsebytes(raw))


@pytest.mark.skipif(sys.version_info >= (3, 13), reason="Python 3.13 matches this way itself")
def test_the_email_package_uses_the_matcher_once_the_app_is_loaded() -> None:
    assert boundaries.installed()


@pytest.mark.parametrize("path", GOLDEN, ids=lambda path: path.name)
@pytest.mark.parametrize("policy", [default, compat32], ids=["default", "compat32"])
def test_golden_emails_parse_to_the_same_tree(path: Path, policy: Any) -> None:
    own, matched = parse_both(path.read_bytes(), policy)
    assert matched == own


@pytest.mark.parametrize("raw", AWKWARD.values(), ids=AWKWARD.keys())
def test_awkward_boundaries_parse_to_the_same_tree(raw: bytes) -> None:
    own, matched = parse_both(raw, default)
    assert matched == own
    assert len(own) > 1  # the case really is multipart


def test_only_the_boundary_pattern_is_taken_over() -> None:
    # What email.feedparser compiles for the boundary "a.b" (Python 3.11 and 3.12).
    tail = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
    pattern = "(?P<sep>" + re.escape("--a.b") + tail
    assert boundaries.boundary_separator(pattern) == "--a.b"
    assert boundaries.boundary_separator(pattern.replace(r"\.", ".")) is None  # not escaped
    assert boundaries.boundary_separator(r"(?P<sep>x)") is None
    assert boundaries.boundary_separator(pattern.encode()) is None

    facade = boundaries._FeedparserRe()
    assert isinstance(facade.compile(r"\d+"), re.Pattern)
    assert isinstance(facade.compile(pattern, re.IGNORECASE), re.Pattern)
    assert facade.escape("a.b") == r"a\.b"
    matcher = facade.compile(pattern)
    assert matcher.match("--a.b--\r\n").group("end", "linesep") == ("--", "\r\n")
    assert matcher.match("--a.b \r\n").group("end") is None
    assert matcher.match("--aXb\r\n") is None
    assert matcher.match("--a.bc\r\n") is None
