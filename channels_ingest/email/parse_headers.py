"""Reading header text that may be encoded, folded, mislabelled or hostile, without raising.

Everything here is pure and total: any input gives a (possibly empty) answer.
"""

import base64
import binascii
import codecs
import functools
import hashlib
import re
from email.utils import getaddresses

# Longest header value we interpret (a hostile 10,000-line header is cut here).
MAX_HEADER_CHARS = 64 * 1024
# At most this many addresses per header, and message ids in a threading header.
MAX_ADDRESSES = 200
MAX_MESSAGE_IDS = 100
# Longest message id we store as is; longer ones are replaced by their digest, so that
# they fit the database column and still compare equal wherever they are seen.
MAX_MESSAGE_ID_CHARS = 250

# Charsets mail clients declare, and the codecs that decode what they really send.
_SUPERSETS: dict[str, tuple[str, ...]] = {
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "x-gbk": ("gb18030",),
    "euc-cn": ("gb18030",),
    "shift_jis": ("cp932", "shift_jis"),
    "shift-jis": ("cp932", "shift_jis"),
    "sjis": ("cp932", "shift_jis"),
    "x-sjis": ("cp932", "shift_jis"),
    "iso-2022-jp": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2"),
    "euc-kr": ("cp949",),
    "ks_c_5601-1987": ("cp949",),
    "big5": ("big5hkscs",),
    "tis-620": ("cp874",),
    "iso-8859-11": ("cp874",),
}
# Declared charsets that mean "8-bit Western, or something else that was not labelled":
# bytes that are valid UTF-8 are read as UTF-8 first.
_WESTERN = {"", "us-ascii", "ascii", "iso-8859-1", "latin1", "latin-1", "windows-1252", "cp1252"}
# Codecs that are text encodings to Python but must never be applied to mail.
_REFUSED_CODECS = {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined"}
# Replacement characters allowed when a declared charset is mostly right.
_MOSTLY_RIGHT = 0.02


def _codec(name: str) -> str | None:
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED_CODECS:
        return None
    return info.name


def _candidates(charset: str) -> list[str]:
    names = (*_SUPERSETS.get(charset, ()), charset)
    found = []
    for name in names:
        codec = _codec(name)
        if codec and codec not in found:
            found.append(codec)
    return found


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeError, LookupError, ValueError, TypeError):
        return None


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Text from bytes in the declared charset, or in what the sender really used.

    Order: the declared charset if it decodes cleanly (except an 8-bit Western label, which
    loses to valid UTF-8: that label is usually a lie); UTF-8; the declared charset if only
    a few bytes are wrong; windows-1252; UTF-8 with a few bytes replaced; latin-1, which
    always succeeds.
    """
    if not data:
        return ""
    label = (charset or "").strip().strip("\"'").lower()
    candidates = [] if label in _WESTERN else _candidates(label)
    for codec in candidates:
        text = _strict(data, codec)
        if text is not None:
            return text
    text = _strict(data, "utf-8")
    if text is not None:
        return text
    for codec in candidates[:1]:
        text = _mostly(data, codec)
        if text is not None:
            return text
    text = _strict(data, "cp1252") or _mostly(data, "utf-8")
    return text if text is not None else data.decode("latin-1")


def _mostly(data: bytes, codec: str) -> str | None:
    """The text if only a few bytes could not be decoded, and the rest shows the codec fits.

    (A short latin-1 text labelled UTF-8 has no valid UTF-8 at all: that is not "mostly".)
    """
    try:
        text = data.decode(codec, errors="replace")
    except (LookupError, ValueError, TypeError):
        return None
    wrong = text.count("\ufffd")
    right = sum(1 for char in text if char > "\x7f") - wrong
    if wrong <= max(1, int(len(text) * _MOSTLY_RIGHT)) and right >= wrong:
        return text
    return None


def fix_surrogates(value: str) -> str:
    """Undo surrogate escapes (raw 8-bit bytes in a header) by decoding those bytes properly."""
    if not any("\ud800" <= char <= "\udfff" for char in value):
        return value
    try:
        data = value.encode("utf-8", errors="surrogateescape")
    except UnicodeError:
        return value.encode("utf-8", errors="replace").decode("utf-8")
    return decode_bytes(data)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean_text(value: str) -> str:
    """Newlines as LF, no NULs or other control characters, no lone surrogates.

    (PostgreSQL refuses NUL in text; neither database accepts lone surrogates.)
    """
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(lambda m: "" if m.group() < "\ud800" else "\ufffd", value)


def clean_line(value: str) -> str:
    """One line of header-derived text: whitespace collapsed, controls removed."""
    return " ".join(clean_text(value).split())


_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?([qQbB])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)[ \t\r\n]+(=\?)")


def _decode_word(charset: str, encoding: str, payload: str) -> str:
    charset = charset.split("*", 1)[0]  # RFC 2231 language suffix: =?utf-8*en?Q?...?=
    data: bytes
    if encoding.lower() == "q":
        data = re.sub(
            rb"=([0-9A-Fa-f]{2})",
            lambda m: bytes([int(m.group(1), 16)]),
            payload.replace("_", " ").encode("ascii", errors="replace"),
        )
    else:
        compact = re.sub(r"[^A-Za-z0-9+/]", "", payload)
        if len(compact) % 4 == 1:
            compact = compact[:-1]  # a stray character; what precedes it still decodes
        try:
            data = base64.b64decode(compact + "=" * (-len(compact) % 4))
        except (binascii.Error, ValueError):
            return payload
    return decode_bytes(data, charset)


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words (also the non-conforming ones inside quotes or names)."""
    value = fix_surrogates(value)
    if "=?" not in value:
        return value
    value = _BETWEEN_WORDS.sub(r"\1\2", value)
    return _ENCODED_WORD.sub(lambda m: _decode_word(m.group(1), m.group(2), m.group(3)), value)


def unfold(value: str) -> str:
    return (
        re.sub(r"\r?\n(?=[ \t])", "", value[:MAX_HEADER_CHARS]).replace("\r", "").replace("\n", " ")
    )


def header_text(value: str) -> str:
    """An unstructured header (Subject, a display name) as one clean line of text."""
    return clean_line(decode_words(unfold(value)))


# --- The header block, read without the email package ---------------------------------------

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:(.*)$", re.DOTALL)


def read_header_block(raw: bytes) -> list[tuple[str, str]]:
    """The top-level header fields as (name, raw value): a tolerant, linear scan.

    It stops where the email package stops (the first blank line, or the first line that is
    neither a field nor a continuation), so both readers see the same fields. Values keep
    8-bit bytes as surrogate escapes, like the email package does.
    """
    end = _HEADER_END.search(raw)
    block = raw[: end.start()] if end else raw
    fields: list[tuple[str, list[bytes]]] = []
    for number, line in enumerate(block.split(b"\n")):
        line = line.rstrip(b"\r")
        if number == 0 and line.startswith(b"From "):
            continue  # an mbox separator
        if line[:1] in (b" ", b"\t"):
            if fields:
                fields[-1][1].append(line)
            continue
        match = _FIELD.match(line)
        if match is None:
            break
        fields.append((match.group(1).decode("ascii"), [match.group(2)]))
    return [(name, _joined(lines)) for name, lines in fields]


def _joined(lines: list[bytes]) -> str:
    value = b"\n".join(lines)[: MAX_HEADER_CHARS + 1024]
    return value.decode("ascii", errors="surrogateescape").strip()


# --- Addresses and message ids ---------------------------------------------------------------

_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\\\"]{1,64}@[^@\s<>()\[\],;:\\\"]{1,255}$")


def addresses(values: list[str]) -> list[tuple[str, str]]:
    """(address, display name) pairs from address headers; malformed entries are skipped."""
    found: list[tuple[str, str]] = []
    for value in values:
        short = len(value) <= _CACHED_VALUE_CHARS
        read = _value_addresses if short else _value_addresses.__wrapped__
        found.extend(read(value))
        if len(found) >= MAX_ADDRESSES:
            break
    return found[:MAX_ADDRESSES]


# A message reads From, To and Cc more than once; longer values are not kept in memory.
_CACHED_VALUE_CHARS = 2000


@functools.lru_cache(maxsize=64)
def _value_addresses(value: str) -> tuple[tuple[str, str], ...]:
    text = fix_surrogates(unfold(value))
    try:
        pairs = getaddresses([text])
    except Exception:  # the stdlib parser has had crashes on hostile input
        pairs = []
    found = []
    for name, address in pairs[:MAX_ADDRESSES]:
        address = clean_line(address).strip("<>")
        if _ADDRESS.match(address):
            found.append((address, header_text(name)))
    return tuple(found)


_BRACKETED = re.compile(r"<([^<>]*)>")


def normalise_message_id(value: str) -> str:
    """'<local@domain>' without whitespace or control characters; '' when there is none."""
    value = "".join(clean_text(fix_surrogates(value)).split())
    value = value.strip("<>")
    if not value or "<" in value or ">" in value:
        return ""
    normalised = f"<{value}>"
    if len(normalised) > MAX_MESSAGE_ID_CHARS:
        return "sha256:" + hashlib.sha256(normalised.encode()).hexdigest()
    return normalised


def message_ids(value: str, *, bare: bool = False, limit: int = MAX_MESSAGE_IDS) -> list[str]:
    """Every <...> id in a header, in order, without repeats.

    Without brackets, a lone word with an @ is taken as the id; with bare=True (Message-ID
    itself), whatever the header holds is.
    """
    text = unfold(value)
    found = [normalise_message_id(match) for match in _BRACKETED.findall(text)[: limit * 2]]
    if not any(found):
        words = text.split()
        if bare or (len(words) == 1 and "@" in words[0]):
            found = [normalise_message_id("".join(words))]
    unique: list[str] = []
    for message_id in found:
        if message_id and message_id not in unique:
            unique.append(message_id)
    return unique[:limit]
