"""An admin sets the brand once in the admin (Admin > Tickets > Branding); what is wrong is
refused with a clear error and nothing is saved."""

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tickets.branding import current
from tickets.models import Brand

pytestmark = pytest.mark.django_db

ADD = "/admin/tickets/brand/add/"


def _form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "company_name": "Acme Support",
        "support_address": "help@acme.example",
        "primary_color": "#b43c0b",
        "accent_color": "f59e0b",
        "footer_text": "Acme Ltd",
    }
    data.update(changes)
    return data


def test_an_admin_sets_name_colours_logo_and_favicon(
    admin_client: Any, logo_png: bytes, favicon_png: bytes
) -> None:
    response = admin_client.post(
        ADD,
        _form(
            logo_upload=SimpleUploadedFile("logo.png", logo_png, "image/png"),
            favicon_upload=SimpleUploadedFile("favicon.png", favicon_png, "image/png"),
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    brand = Brand.objects.get()
    assert (brand.company_name, brand.primary_color, brand.accent_color) == (
        "Acme Support", "#b43c0b", "#f59e0b",
    )  # fmt: skip
    assert bytes(brand.logo) == logo_png and brand.logo_type == "image/png"
    assert bytes(brand.favicon) == favicon_png
    look = current()
    assert look.company_name == "Acme Support" and look.logo == logo_png
    # One brand: no second one, never deleted; the change page keeps the images.
    assert admin_client.get(ADD).status_code == 403
    change = f"/admin/tickets/brand/{brand.pk}/change/"
    page = admin_client.get(change).content.decode()
    assert f"/brand/logo/{look.logo_version}/" in page
    assert admin_client.post(change, _form(company_name="Acme")).status_code == 302
    brand.refresh_from_db()
    assert brand.company_name == "Acme" and bytes(brand.logo) == logo_png
    assert admin_client.post(change, _form(remove_logo="on")).status_code == 302
    brand.refresh_from_db()
    assert bytes(brand.logo) == b"" and current().logo == b""


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"primary_color": "#ffcc00"}, "#ffcc00 has a contrast of 1.4:1 with white text"),
        ({"primary_color": "blue"}, "The primary colour must be a hex colour"),
        ({"accent_color": "#12345"}, "The accent colour must be a hex colour"),
        ({"support_address": "not an address"}, "Enter a valid email address"),
    ],
)
def test_bad_colours_and_addresses_are_refused(
    admin_client: Any, changes: dict[str, str], error: str
) -> None:
    response = admin_client.post(ADD, _form(**changes))
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Brand.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "The logo must be a JPEG, PNG, WebP image (this file is not an image)",
        ),
        ("logo.png", b"GIF89a" + b"\x00" * 100, "The logo must be a JPEG, PNG, WebP image"),
        ("logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * (600 * 1024), "at most 512 KB"),
    ],
)
def test_logos_that_are_not_safe_images_are_refused(
    admin_client: Any, name: str, content: bytes, error: str
) -> None:
    upload = SimpleUploadedFile(name, content, "image/png")
    response = admin_client.post(ADD, _form(logo_upload=upload))
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Brand.objects.exists()


def test_a_jpeg_favicon_is_refused(admin_client: Any) -> None:
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
    upload = SimpleUploadedFile("favicon.jpg", jpeg, "image/jpeg")
    response = admin_client.post(ADD, _form(favicon_upload=upload))
    assert "The favicon must be a ICO, PNG image" in response.content.decode()
    assert not Brand.objects.exists()


def test_agents_cannot_open_the_branding(client: Any, agent: Any) -> None:
    agent.is_staff = True
    agent.save()
    client.force_login(agent)
    assert client.get(ADD).status_code in (302, 403)
    assert client.post(ADD, _form()).status_code in (302, 403)
    assert not Brand.objects.exists()


def test_the_service_refuses_agents(agent: Any) -> None:
    from tickets.branding.services import BrandInput, brand_update
    from tickets.errors import NotAllowed

    with pytest.raises(NotAllowed):
        brand_update(data=BrandInput(company_name="Mine"), actor=agent)
    assert not Brand.objects.exists()


def test_contrast_is_measured_as_wcag_says() -> None:
    from tickets.branding import colors
    from tickets.errors import InvalidInput

    assert colors.contrast("#000", "#ffffff") == pytest.approx(21)
    assert colors.contrast("#767676", "#fff") == pytest.approx(4.54, abs=0.01)
    assert colors.normalize_hex(" 1E5BB8 ") == "#1e5bb8"
    # Readable on white, not on the pages' light grey: refused (links sit on both).
    with pytest.raises(InvalidInput, match=r"#767676 has a contrast of 4\.2:1"):
        colors.refuse_unreadable_primary("#767676")
    colors.refuse_unreadable_primary("#1e5bb8")
