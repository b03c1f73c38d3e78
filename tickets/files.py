"""Attachments from strangers: safe names and content types decided by their bytes."""

import mimetypes
import re
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath

import filetype

_MAX_NAME = 150
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


def safe_filename(name: str, *, content_type: str = "", index: int = 1) -> str:
    """The last path component, without control or reserved characters, of sane length."""
    name = unicodedata.normalize("NFC", name or "")
    name = PureWindowsPath(PurePosixPath(name.replace("\\", "/")).name).name
    name = _UNSAFE.sub("_", name).strip().lstrip(".").strip()
    if not name:
        extension = mimetypes.guess_extension(content_type or "") or ".bin"
        name = f"attachment-{index}{extension}"
    if len(name) > _MAX_NAME:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = f"{stem[: _MAX_NAME - len(extension) - 1]}.{extension}"
        else:
            name = name[:_MAX_NAME]
    return name


def sniff_content_type(content: bytes, declared: str = "") -> str:
    """What the bytes say they are; else the declared type if well-formed; else octet-stream."""
    kind = filetype.guess(content[:8192]) if content else None
    if kind is not None:
        return kind.mime
    declared = (declared or "").split(";")[0].strip().lower()
    return declared if _TYPE.match(declared) else "application/octet-stream"
