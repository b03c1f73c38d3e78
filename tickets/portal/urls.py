"""The customer portal, under /support/ (the contact form's routes live in helpdesk/urls.py:
they belong to channels_ingest, which tickets does not import)."""

from django.urls import path
from django.views.generic import RedirectView

from tickets.portal import rating, self_service, sign_in, verification, views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal-tickets"), name="portal-home"),
    path("login/", sign_in.sign_in, name="portal-login"),
    path("login/sent/", sign_in.link_sent, name="portal-login-sent"),
    path("login/password/", sign_in.PasswordSignInView.as_view(), name="portal-login-password"),
    path("login/<str:token>/", sign_in.sign_in_by_link, name="portal-login-link"),
    path("logout/", sign_in.SignOutView.as_view(), name="portal-logout"),
    path("tickets/", views.ticket_list, name="portal-tickets"),
    path("tickets/<int:ticket_id>/", views.ticket_thread, name="portal-ticket"),
    path("tickets/<int:ticket_id>/reply/", views.ticket_reply, name="portal-ticket-reply"),
    path("tickets/<int:ticket_id>/close/", views.ticket_close, name="portal-ticket-close"),
    path("tickets/<int:ticket_id>/reopen/", views.ticket_reopen, name="portal-ticket-reopen"),
    path("tickets/<int:ticket_id>/rate/", views.ticket_rate, name="portal-ticket-rate"),
    path(
        "attachments/<int:attachment_id>/",
        views.attachment_download,
        name="portal-attachment",
    ),
    path("verify/<str:token>/", verification.verify_contact, name="verify-contact"),
    path("rate/<str:token>/", rating.rate_by_link, name="portal-rate-link"),
    path("solved/<str:token>/", self_service.self_service_solved, name="self-service-solved"),
    path(
        "known-issue/<int:problem_id>/mine/<str:token>/",
        self_service.known_issue_mine,
        name="known-issue-mine",
    ),
]
