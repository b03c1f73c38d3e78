"""Reading an email's MIME tree into its body, forwarded messages and files, whatever its state.

Every part is read on its own: a part that cannot be read is skipped and reported (`lost`),
never allowed to cost the rest. Hostile structure is bounded before and while parsing.
"""

import binascii
import functools
import logging
import quopri
import re
from dataclasses import dataclass, field
from email.feedparser import BytesFeedParser
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import Message
from email.policy import default as default_policy
from typing import Any

from anymail.inbound import AnymailInboundMessage

from channels_ingest.email.content_files import FoundFile
from channels_ingest.email.content_text import html_to_text, text_to_html, unflow
from channels_ingest.email.parse_headers import (
    clean_line,
    decode_bytes,
    fix_surrogates,
    header_text,
    unfold,
)

logger = logging.getLogger(__name__)

# Parts are read at most this deep, and at most this many; deeper parts are read flat.
MAX_DEPTH = 20
MAX_PARTS = 500
# Before parsing: the email package builds every part (recursively for nesting), so a
# message declaring more containers or boundary lines than this is cut there.
MAX_CONTAINERS = 200
MAX_BOUNDARY_LINES = 2 * MAX_PARTS
# Longest body text kept; the original keeps the rest.
MAX_TEXT_CHARS = 1_000_000

_SERIALISE_POLICY = default_policy.clone(refold_source="none")
# Header values longer than this are parsed again when read again (not kept in memory).
_CACHED_HEADER_CHARS = 2000


class _RememberingRegistry(HeaderRegistry):
    """The email package's header registry, remembering the headers it parsed.

    Under the default policy a header is parsed again on every read, and reading a message
    reads each part's Content-Type some ten times (the parser itself, then the content
    type, its parameters, the charset, the file name ...): most of the time of reading an
    email. Parsed headers are immutable, so the same (name, value) can share one.
    """

    def __call__(self, name: str, value: str) -> BaseHeader:
        if len(value) > _CACHED_HEADER_CHARS:
            return super().__call__(name, value)
        return _parsed_header(name, value)


_REGISTRY = HeaderRegistry()


@functools.lru_cache(maxsize=256)  # a message's headers are read again within the message
def _parsed_header(name: str, value: str) -> BaseHeader:
    return _REGISTRY(name, value)


# anymail's parsing policy (the default policy), with the remembering registry.
_READ_POLICY = default_policy.clone(header_factory=_RememberingRegistry())


# Bytes fed to the parser at a time.
_FEED_BYTES = 64 * 1024


def _parse(data: bytes) -> AnymailInboundMessage:
    """As AnymailInboundMessage.parse_raw_mime_bytes, on the read policy, fed in pieces.

    BytesParser.parsebytes decodes the whole message into one string and reads it through
    a StringIO, which holds four bytes a character: a 42 MB message took some 200 MB more
    than the same parse fed piece by piece (the same feed parser, the same tree)."""
    parser = BytesFeedParser(AnymailInboundMessage, policy=_READ_POLICY)
    view = memoryview(data)
    for start in range(0, len(view), _FEED_BYTES):
        parser.feed(view[start : start + _FEED_BYTES].tobytes())
    message: AnymailInboundMessage = parser.close()
    return message


_BODY_TYPES = ("text/plain", "text/html")
_CONTAINERS = ("multipart/", "message/rfc822", "message/global")
_FORWARD_HEADERS = ("From", "Date", "Subject", "To", "Cc")


@dataclass
class Body:
    text: str = ""
    html: str = ""

    def __bool__(self) -> bool:
        return bool(self.text.strip() or self.html.strip())


@dataclass
class Forward:
    summary: str  # "From: ...\nDate: ...\nSubject: ..." of the forwarded message
    body: Body


@dataclass
class Content:
    body: Body
    forwards: list[Forward] = field(default_factory=list)
    files: list[FoundFile] = field(default_factory=list)
    # Something was skipped or could not be decoded: the original should be attached.
    lost: bool = False


def read_content(raw: bytes) -> Content | None:
    """The readable content of raw RFC 5322 bytes; None if they cannot be parsed at all."""
    guarded, was_cut = _bounded(raw)
    try:
        message = _parse(guarded)
    except Exception as error:  # RecursionError, or a bug in the email package
        logger.warning("email could not be parsed: %s", type(error).__name__)
        return None
    reader = _Reader()
    body = reader.read(message, depth=0)
    forwards = [forward for forward in reader.forwards if forward is not None]
    return Content(body=body, forwards=forwards, files=reader.files, lost=reader.lost or was_cut)


_CONTAINER = re.compile(rb"^content-type:[ \t]*(?:\r?\n[ \t]+)?(?:multipart|message)/", re.I | re.M)
_BOUNDARY_PARAM = re.compile(rb"""boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))""", re.I)
# A delimiter line that could start the parts of a container: --boundary (RFC 2046 chars).
_DELIMITER = re.compile(
    rb"^--([0-9A-Za-z'()+_,./:=? -]{0,69}[0-9A-Za-z'()+_,./:=?-])[ \t]*\r?$", re.M
)
_DASH_LINE = re.compile(rb"^--([^\r\n]{1,202})", re.M)


def _bounded(raw: bytes) -> tuple[bytes, bool]:
    """The raw message, cut before the container or boundary line that exceeds the limits."""
    cut = len(raw)
    for count, match in enumerate(_CONTAINER.finditer(raw), start=1):
        if count > MAX_CONTAINERS:
            cut = match.start()
            break
    if raw.count(b"\n--", 0, cut) > MAX_BOUNDARY_LINES:
        boundaries = set()
        for match in _BOUNDARY_PARAM.finditer(raw, 0, cut):
            boundaries.add((match.group(1) or match.group(2)).rstrip())
            if len(boundaries) > MAX_CONTAINERS:
                break
        lines = 0
        for match in _DASH_LINE.finditer(raw, 0, cut):
            token = match.group(1).rstrip()
            if token in boundaries or (token.endswith(b"--") and token[:-2] in boundaries):
                lines += 1
                if lines > MAX_BOUNDARY_LINES:
                    cut = match.start()
                    break
    return (raw, False) if cut == len(raw) else (raw[:cut], True)


class _Reader:
    def __init__(self) -> None:
        self.parts = 0
        self.lost = False
        self.files: list[FoundFile] = []
        # In document order; a slot is reserved before a forwarded message is read, so a
        # forward nested in a forward comes after the one that contains it.
        self.forwards: list[Forward | None] = []

    def read(self, part: Message, *, depth: int) -> Body:
        self.parts += 1
        if self.parts > MAX_PARTS:
            self.lost = True
            return Body()
        if depth > MAX_DEPTH:
            self.parts -= 1  # counted again below
            return self._flat(part)
        try:
            return self._read(part, depth)
        except Exception as error:  # one unreadable part must not cost the others
            logger.info("email part could not be read: %s", type(error).__name__)
            self.lost = True
            return Body()

    def _read(self, part: Message, depth: int) -> Body:
        content_type = _content_type(part)
        payload: Any = part.get_payload()
        if isinstance(payload, list):
            if content_type in ("message/rfc822", "message/global") and payload:
                return self._forwarded(self._enclosed(part, payload[0]), depth)
            if content_type.startswith("message/"):
                self._file(part, content_type)  # delivery-status and other header blocks
                return Body()
            return self._multipart(content_type, payload, depth)
        if content_type.startswith("multipart/"):
            return self._unsplit(part, content_type, depth)
        return self._leaf(part, content_type, whole_message=depth == 0)

    def _multipart(self, content_type: str, children: list[Any], depth: int) -> Body:
        if content_type == "multipart/report" and children:
            # A bounce or receipt: the first part explains it; the rest are files.
            body = self.read(children[0], depth=depth + 1)
            for child in children[1:]:
                child_type = _content_type(child)
                if child_type.startswith("multipart/"):
                    self.read(child, depth=depth + 1)
                    continue
                self.parts += 1
                if self.parts > MAX_PARTS:
                    self.lost = True
                    break
                self._file(child, child_type)
            return body
        bodies = [self.read(child, depth=depth + 1) for child in children]
        if content_type == "multipart/alternative":
            return Body(
                text=next((body.text for body in bodies if body.text.strip()), ""),
                html=next((body.html for body in reversed(bodies) if body.html.strip()), ""),
            )
        return _combined(bodies)

    def _unsplit(self, part: Message, content_type: str, depth: int) -> Body:
        """A container the parser could not split (no boundary declared, or the wrong one).

        The boundary its first delimiter line uses is tried; failing that, it is read as text.
        """
        payload = part.get_payload()
        data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
        match = _DELIMITER.search(data)
        if match:
            head = b"Content-Type: " + content_type.encode() + b'; boundary="' + match.group(1)
            try:
                reparsed = _parse(head + b'"\n\n' + data)
            except Exception:
                reparsed = None
            if reparsed is not None and isinstance(reparsed.get_payload(), list):
                return self._multipart(content_type, reparsed.get_payload(), depth)
        self.lost = True
        return Body(text=self._text(part))

    def _enclosed(self, part: Message, inner: Message) -> Message:
        """The forwarded message itself, also when the sender encoded it (base64 or QP: not
        allowed for message/rfc822, but some clients do it, and the parser reads it as text)."""
        encoding = _raw_header(part, "content-transfer-encoding").strip().lower()
        if encoding not in ("base64", "quoted-printable"):
            return inner
        try:
            encoded = inner.as_bytes(policy=_SERIALISE_POLICY)
            data = (
                binascii.a2b_base64(encoded)
                if encoding == "base64"
                else quopri.decodestring(encoded)
            )
            guarded, was_cut = _bounded(data)
            message: Message = _parse(guarded)
        except Exception:
            return inner
        self.lost = self.lost or was_cut
        return message

    def _forwarded(self, inner: Message, depth: int) -> Body:
        slot = len(self.forwards)
        self.forwards.append(None)
        body = self.read(inner, depth=depth + 1)
        self.forwards[slot] = Forward(summary=_summary(inner), body=body)
        return Body()

    def _leaf(self, part: Message, content_type: str, *, whole_message: bool = False) -> Body:
        """A body, or a file. A named text part is a file, unless it is the whole message."""
        filename = _filename(part)
        is_body = not filename or whole_message
        if content_type in _BODY_TYPES and is_body and _disposition(part) != "attachment":
            text = self._text(part)
            if content_type == "text/html":
                return Body(html=text)
            if _param(part, "format").lower() == "flowed":
                text = unflow(text, delsp=_param(part, "delsp").lower() == "yes")
            return Body(text=text)
        self._file(part, content_type, filename)
        return Body()

    def _text(self, part: Message) -> str:
        try:
            data = part.get_payload(decode=True)
        except Exception:
            data = None
        if not isinstance(data, bytes):
            payload: Any = part.get_payload()
            if not isinstance(payload, str):
                self.lost = True
                return ""
            data = payload.encode("utf-8", errors="surrogateescape")
        text = decode_bytes(data, _param(part, "charset"))
        if len(text) > MAX_TEXT_CHARS:
            self.lost = True
            text = text[:MAX_TEXT_CHARS]
        return text

    def _file(self, part: Message, content_type: str, filename: str | None = None) -> None:
        content = _content_bytes(part)
        if content is None:
            self.lost = True
            return
        self.files.append(
            FoundFile(
                filename=_filename(part) if filename is None else filename,
                declared_type=content_type,
                content=content,
                content_id=_content_id(part),
            )
        )

    def _flat(self, part: Message) -> Body:
        """A subtree nested too deep to interpret: its bodies and files, in document order."""
        texts: list[str] = []
        htmls: list[str] = []
        stack = [part]
        while stack:
            node = stack.pop()
            self.parts += 1
            if self.parts > MAX_PARTS:
                self.lost = True
                break
            try:
                payload: Any = node.get_payload()
                content_type = _content_type(node)
                if isinstance(payload, list) and content_type.startswith(_CONTAINERS):
                    stack.extend(reversed(payload))
                    continue
                body = self._leaf(node, content_type)
                if body.text.strip():
                    texts.append(body.text)
                if body.html.strip():
                    htmls.append(body.html)
            except Exception as error:
                logger.info("email part could not be read: %s", type(error).__name__)
                self.lost = True
        return Body(text="\n\n".join(texts), html="\n".join(htmls))


def _combined(bodies: list[Body]) -> Body:
    """Bodies shown one after another (mixed, related, signed ...): text and HTML both whole."""
    bodies = [body for body in bodies if body]
    if len(bodies) <= 1:
        return bodies[0] if bodies else Body()
    text = html = ""
    if any(body.text.strip() for body in bodies):
        text = "\n\n".join(
            body.text.strip("\n") if body.text.strip() else html_to_text(body.html)
            for body in bodies
        )
    if any(body.html.strip() for body in bodies):
        html = "\n".join(
            body.html if body.html.strip() else text_to_html(body.text) for body in bodies
        )
    return Body(text=text, html=html)


def _raw_header(part: Message, name: str) -> str:
    for field_name, value in part.raw_items():
        if field_name.lower() == name:
            return unfold(value)
    return ""


def _summary(message: Message) -> str:
    values = {name.lower(): value for name, value in reversed(list(message.raw_items()))}
    lines = []
    for name in _FORWARD_HEADERS:
        value = header_text(values.get(name.lower(), ""))
        if value:
            lines.append(f"{name}: {value}")
    return "\n".join(lines)


def _content_type(part: Message) -> str:
    try:
        return str(part.get_content_type()).lower()
    except Exception:
        return "application/octet-stream"


def _disposition(part: Message) -> str:
    try:
        return str(part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def _param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name)
    except Exception:
        return ""
    if isinstance(value, tuple):  # RFC 2231: (charset, language, value)
        value = value[2]
    return clean_line(fix_surrogates(str(value or "")))


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    return fix_surrogates(str(name)) if name else ""


def _content_id(part: Message) -> str:
    value = _raw_header(part, "content-id")
    return "".join(clean_line(fix_surrogates(value)).split()).strip("<>")[:255]


def _content_bytes(part: Message) -> bytes | None:
    try:
        payload: Any = part.get_payload()
        if isinstance(payload, list):  # message/*: the enclosed message or header blocks
            return b"".join(item.as_bytes(policy=_SERIALISE_POLICY) for item in payload)
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            return data
        if isinstance(payload, str):
            return payload.encode("utf-8", errors="surrogateescape")
        return None
    except Exception:
        return None
