"""Serving a stored attachment: always as a download, under its sanitised name."""

from django.http import FileResponse, Http404

from tickets.models import Attachment, SideAttachment


def attachment_response(attachment: Attachment | SideAttachment | None) -> FileResponse:
    """The file as a download; 404 when there is no such attachment or its file is gone.

    Callers decide who may read it; this never renders a file inline (no stored XSS).
    """
    if attachment is None or not attachment.file:
        raise Http404
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
