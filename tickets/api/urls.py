from django.urls import path

from tickets.api import collab, privacy, problems, reports, views

app_name = "api"

urlpatterns = [
    path("tickets/", views.TicketListCreateView.as_view(), name="ticket-list"),
    path("tickets/<int:ticket_id>/", views.TicketDetailView.as_view(), name="ticket-detail"),
    path("tickets/<int:ticket_id>/replies/", views.TicketReplyView.as_view(), name="ticket-reply"),
    path("tickets/<int:ticket_id>/notes/", views.TicketNoteView.as_view(), name="ticket-note"),
    path("tickets/<int:ticket_id>/tier/", views.TicketTierView.as_view(), name="ticket-tier"),
    path(
        "tickets/<int:ticket_id>/followers/",
        collab.TicketFollowView.as_view(),
        name="ticket-followers",
    ),
    path(
        "tickets/<int:ticket_id>/related/",
        collab.RelatedTicketsView.as_view(),
        name="ticket-related",
    ),
    path(
        "tickets/<int:ticket_id>/related/<int:other_id>/",
        collab.RelatedTicketView.as_view(),
        name="ticket-related-one",
    ),
    path(
        "tickets/<int:ticket_id>/side-conversations/",
        collab.SideConversationsView.as_view(),
        name="ticket-side-conversations",
    ),
    path(
        "tickets/<int:ticket_id>/side-conversations/<int:side_id>/messages/",
        collab.SideReplyView.as_view(),
        name="ticket-side-reply",
    ),
    path(
        "tickets/<int:ticket_id>/side-conversations/<int:side_id>/close/",
        collab.SideCloseView.as_view(),
        name="ticket-side-close",
    ),
    path("tickets/<int:ticket_id>/merge/", views.TicketMergeView.as_view(), name="ticket-merge"),
    path(
        "tickets/<int:ticket_id>/unlink-problem/",
        problems.TicketUnlinkProblemView.as_view(),
        name="ticket-unlink-problem",
    ),
    path("calls/", views.CallLogView.as_view(), name="call-log"),
    path(
        "messages/<int:message_id>/original/",
        views.MessageOriginalView.as_view(),
        name="message-original",
    ),
    path(
        "attachments/<int:attachment_id>/",
        views.AttachmentDownloadView.as_view(),
        name="attachment-download",
    ),
    path(
        "side-attachments/<int:attachment_id>/",
        collab.SideAttachmentDownloadView.as_view(),
        name="side-attachment-download",
    ),
    path("customers/", views.CustomerListCreateView.as_view(), name="customer-list"),
    path(
        "customers/<int:customer_id>/", views.CustomerDetailView.as_view(), name="customer-detail"
    ),
    path(
        "customers/<int:customer_id>/contact-points/",
        views.CustomerContactPointView.as_view(),
        name="customer-contact-points",
    ),
    path(
        "customers/<int:customer_id>/contact-points/<int:contact_id>/undeliverable/",
        views.ContactPointUndeliverableView.as_view(),
        name="customer-contact-point-undeliverable",
    ),
    path(
        "customers/<int:customer_id>/merge/",
        views.CustomerMergeView.as_view(),
        name="customer-merge",
    ),
    path(
        "customers/<int:customer_id>/export/",
        privacy.CustomerExportView.as_view(),
        name="customer-export",
    ),
    path("exports/<int:export_id>/", privacy.ExportDetailView.as_view(), name="export-detail"),
    path(
        "exports/<int:export_id>/download/",
        privacy.ExportDownloadView.as_view(),
        name="export-download",
    ),
    path("tiers/", views.TierListView.as_view(), name="tier-list"),
    path("problems/", problems.ProblemListCreateView.as_view(), name="problem-list"),
    path("problems/<int:problem_id>/", problems.ProblemDetailView.as_view(), name="problem-detail"),
    path(
        "problems/<int:problem_id>/notes/", problems.ProblemNoteView.as_view(), name="problem-note"
    ),
    path(
        "problems/<int:problem_id>/link/", problems.ProblemLinkView.as_view(), name="problem-link"
    ),
    path(
        "problems/<int:problem_id>/solve/",
        problems.ProblemSolveView.as_view(),
        name="problem-solve",
    ),
    path(
        "problems/<int:problem_id>/known-issue/",
        problems.ProblemKnownIssueView.as_view(),
        name="problem-known-issue",
    ),
    path("known-issues/", problems.KnownIssueListView.as_view(), name="known-issue-list"),
    path("reports/overview/", reports.OverviewReportView.as_view(), name="report-overview"),
    path(
        "reports/responsiveness/",
        reports.ResponsivenessReportView.as_view(),
        name="report-responsiveness",
    ),
    path("reports/sla/", reports.SLAReportView.as_view(), name="report-sla"),
    path(
        "reports/satisfaction/",
        reports.SatisfactionReportView.as_view(),
        name="report-satisfaction",
    ),
    path("reports/tiers/", reports.TierFlowReportView.as_view(), name="report-tiers"),
    path("reports/agents/", reports.AgentsReportView.as_view(), name="report-agents"),
]
