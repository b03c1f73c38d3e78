"""The brand customers and agents see: the company's name, logo, colours, favicon, support
address and footer, as one admin sets them once (one row; the defaults until then).

Read through tickets.branding, which keeps it per process: pages and mail read no row.
"""

from django.db import models


class Brand(models.Model):
    company_name = models.CharField(
        max_length=100,
        blank=True,
        help_text="Shown in page headers, titles, the chat widget and as the name on our mail.",
    )
    support_address = models.EmailField(
        blank=True,
        help_text="The address customers see our mail come from and answer to (its domain "
        "must reach the help desk's inbound mail). Empty: the server's configured address.",
    )
    primary_color = models.CharField(
        max_length=7,
        blank=True,
        help_text="Buttons, links and the chat button, as #rrggbb. White text on it must "
        "reach a contrast of 4.5:1 (WCAG AA).",
    )
    accent_color = models.CharField(
        max_length=7, blank=True, help_text="The stripe under page headers, as #rrggbb."
    )
    footer_text = models.CharField(
        max_length=300, blank=True, help_text="A line at the foot of every page and email."
    )
    logo = models.BinaryField(blank=True, default=b"", editable=False)
    logo_type = models.CharField(max_length=30, blank=True, editable=False)
    favicon = models.BinaryField(blank=True, default=b"", editable=False)
    favicon_type = models.CharField(max_length=30, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "branding"
        verbose_name_plural = "branding"

    def __str__(self) -> str:
        return self.company_name or "Branding"
