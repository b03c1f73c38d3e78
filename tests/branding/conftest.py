from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tickets.branding.services import BrandInput, brand_update

IMAGES = Path(settings.BASE_DIR) / "static" / "brand"


@pytest.fixture
def logo_png() -> bytes:
    return (IMAGES / "acme-logo.png").read_bytes()


@pytest.fixture
def favicon_png() -> bytes:
    return (IMAGES / "acme-favicon.png").read_bytes()


@pytest.fixture
def acme(db: None, logo_png: bytes, favicon_png: bytes) -> Any:
    """The brand set, as an admin would."""
    return brand_update(
        data=BrandInput(
            company_name="Acme Support",
            support_address="help@acme.example",
            primary_color="#B43C0B",
            accent_color="#f59e0b",
            footer_text="Acme Ltd, 1 Demo Street",
            logo=logo_png,
            favicon=favicon_png,
        ),
        actor=None,
    )


@pytest.fixture
def admin_client(client: Any, admin_user: Any) -> Any:
    client.force_login(admin_user)
    return client
