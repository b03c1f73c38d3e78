from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from channels_ingest.chat import page as chat_page
from channels_ingest.email import mailgun
from channels_ingest.email.webhooks import anymail_webhooks, reading_bodies, secret_required
from channels_ingest.web import views as contact_views
from helpdesk import catalogue
from helpdesk.admin_lookups import autocomplete_view
from helpdesk.health import healthz
from helpdesk.i18n import language_switch
from knowledge import suggest_views
from tickets import report_views
from tickets.branding import views as brand_views
from tickets.password_reset import QueuedPasswordResetView, staff_sign_in_instead
from tickets.portal import status

# Under /api/, what Django answers itself (an id that is not a number, a crash) comes in
# the API's error shape; elsewhere as Django's pages.
handler400 = "tickets.api.errors.bad_request"
handler404 = "tickets.api.errors.not_found"
handler500 = "tickets.api.errors.server_error"

admin.site.site_header = "Help desk administration"
admin.site.site_title = "Help desk"

urlpatterns = [
    # Customers arrive at the help center; agents go to /agent/ (linked from its header).
    path("", RedirectView.as_view(pattern_name="kb-home", permanent=False)),
    # (Answered before the Host check by helpdesk.health.AnswerProbesByAddress; named here.)
    path("healthz", healthz, name="healthz"),
    # The language switcher (a POST with the CSRF token) and the chat's strings in the
    # page's language (static/chat/chat.js): pages link their language's own, kept.
    path("i18n/setlang/", language_switch, name="set_language"),
    path("jsi18n/", catalogue.ScriptCatalogue.as_view(), name="javascript-catalog"),
    path(
        "jsi18n/<str:language>/",
        catalogue.ScriptCatalogue.as_view(),
        name="javascript-catalog-language",
    ),
    # Browsers ask for /favicon.ico on every page that names none (the admin's, say).
    path("favicon.ico", brand_views.favicon_ico, name="favicon"),
    path("brand/logo/<str:version>/", brand_views.logo, name="brand-logo"),
    path("brand/favicon/<str:version>/", brand_views.favicon, name="brand-favicon"),
    path("brand/widget.json", brand_views.widget_look, name="brand-widget"),
    path(
        "admin/reports/self-service/",
        admin.site.admin_view(report_views.self_service),
        name="report-self-service",
    ),
    path(
        "admin/reports/self-service/synonym/",
        admin.site.admin_view(report_views.failed_search_as_synonym),
        name="report-failed-search-synonym",
    ),
    path(
        "admin/reports/self-service/search-words/",
        admin.site.admin_view(report_views.failed_search_to_article),
        name="report-failed-search-article",
    ),
    # One staff sign-in door, where the second factor is asked: the admin's leads to it.
    path("admin/login/", staff_sign_in_instead, name="admin-login"),
    path("admin/autocomplete/", autocomplete_view, name="admin-autocomplete"),
    path("admin/", admin.site.urls),
    path("agent/", include("tickets.workspace.urls")),
    path(
        "accounts/password_reset/",
        QueuedPasswordResetView.as_view(),
        name="password_reset",
    ),
    # allauth's own reset mails inside the request (address enumeration): ours instead.
    path("accounts/password/reset/", RedirectView.as_view(pattern_name="password_reset")),
    path("accounts/", include("allauth.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("tickets.api.urls")),
    path("api/v1/kb/", include("knowledge.api.urls")),
    # Provider webhooks (inbound mail, delivery reports), verified by anymail itself;
    # Mailgun's also for freshness and replays (its signature does not cover the message).
    # Off (404) without ANYMAIL_WEBHOOK_SECRET.
    re_path(
        r"^anymail/mailgun/inbound(_mime)?/$",
        secret_required(reading_bodies(mailgun.MailgunInboundView).as_view()),
    ),
    path(
        "anymail/mailgun/tracking/",
        secret_required(reading_bodies(mailgun.MailgunTrackingView).as_view()),
    ),
    path("anymail/", include(anymail_webhooks())),
    path("support/new/", contact_views.contact, name="support-new"),
    path("support/new/done/", contact_views.submitted, name="support-submitted"),
    path("support/suggest/", suggest_views.suggest, name="support-suggest"),
    path("support/solved-it/", suggest_views.solved_it, name="support-solved-it"),
    path("support/solved-it/done/", suggest_views.deflected, name="support-deflected"),
    path("support/chat/", chat_page.chat_page, name="support-chat"),
    # The public status page: known issues now and lately, "tell me when it's fixed".
    path("status/", status.status_page, name="status"),
    path("status/<int:known_issue_id>/notify/", status.notify, name="status-notify"),
    # The customer portal: sign-in, my tickets, the signed "solved" and "rate us" links.
    path("support/", include("tickets.portal.urls")),
    path("inbound/", include("channels_ingest.urls")),
    path("kb/", include("knowledge.urls")),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[AllowAny]),
        name="api-schema",
    ),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=[AllowAny]),
        name="api-docs",
    ),
]

# Uploaded attachments are never served as static media, not even in development: they are
# downloaded through the API, which checks who is asking.
