"""Attachments from strangers: safe names, and content types decided by their bytes."""

import re
import unicodedata
import uuid
from pathlib import PurePosixPath

import filetype

FILENAME_MAX_CHARS = 150
_EXTENSION_MAX_CHARS = 16
# Bytes filetype looks at (its longest signature offset is well inside this).
_SNIFF_BYTES = 8192

# Extensions for unnamed parts; a fixed table, so names do not depend on the host's mime.types.
_EXTENSIONS = {
    "application/gzip": "gz",
    "application/json": "json",
    "application/msword": "doc",
    "application/pdf": "pdf",
    "application/pgp-signature": "asc",
    "application/pkcs7-signature": "p7s",
    "application/x-pkcs7-signature": "p7s",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/xml": "xml",
    "application/zip": "zip",
    "audio/mpeg": "mp3",
    "image/bmp": "bmp",
    "image/gif": "gif",
    "image/heic": "heic",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/svg+xml": "svg",
    "image/tiff": "tif",
    "image/webp": "webp",
    "message/delivery-status": "txt",
    "message/disposition-notification": "txt",
    "message/rfc822": "eml",
    "text/calendar": "ics",
    "text/csv": "csv",
    "text/html": "html",
    "text/plain": "txt",
    "text/rfc822-headers": "txt",
    "text/x-vcard": "vcf",
    "text/vcard": "vcf",
    "video/mp4": "mp4",
}
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
# Characters Windows, shells or URLs treat specially; replaced so the name is safe anywhere.
_RESERVED = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_WINDOWS_DEVICES = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
# Control, format (e.g. the right-to-left override that disguises "exe" as "txt"),
# surrogate, private-use and unassigned characters.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def safe_filename(name: str, *, content_type: str = "", index: int = 1) -> str:
    """A file name safe to store and offer for download; the extension is kept.

    Directory parts (both / and \\), control and invisible characters, leading dots and
    reserved characters are removed; at most 150 characters. Without anything usable,
    'attachment-<index>.<extension for the content type>'.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        " " if char.isspace() else char
        for char in name
        if unicodedata.category(char) not in _INVISIBLE_CATEGORIES or char in "\t\n\r"
    )
    name = " ".join(_RESERVED.sub("_", name).split()).strip(". ")
    stem, dot, extension = name.rpartition(".")
    if not (dot and stem and extension) or len(extension) > _EXTENSION_MAX_CHARS:
        # No extension to keep; other dots go, or storage would see a huge "extension".
        stem, extension = name.replace(".", "_"), ""
    stem = stem[: FILENAME_MAX_CHARS - len(extension) - 1].rstrip(". ")
    if not re.search(r"\w", stem):
        return f"attachment-{index}.{_EXTENSIONS.get(content_type, 'bin')}"
    if _WINDOWS_DEVICES.match(stem):
        stem = "_" + stem
    return f"{stem}.{extension}" if extension else stem


def sniff_content_type(content: bytes, declared: str = "") -> str:
    """The type the bytes say they are; else the declared type if well-formed; else binary."""
    try:
        kind = filetype.guess(content[:_SNIFF_BYTES]) if content else None
    except Exception:  # filetype reads untrusted bytes; it must not cost the attachment
        kind = None
    if kind is not None and _MEDIA_TYPE.match(kind.mime):
        return str(kind.mime)
    declared = (declared or "").strip().lower()
    return declared if _MEDIA_TYPE.match(declared) else "application/octet-stream"


_STORED_EXTENSION = re.compile(r"^\.[A-Za-z0-9]{1,10}$")


def storage_name(filename: str) -> str:
    """A name for the stored file that no sender can influence beyond a short extension;
    the readable name lives in Attachment.filename."""
    extension = PurePosixPath(filename).suffix
    return uuid.uuid4().hex + (extension.lower() if _STORED_EXTENSION.match(extension) else "")
