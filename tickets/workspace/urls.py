from django.urls import path

from tickets.workspace import chat_views, report_views, rule_views, views

app_name = "agent"

urlpatterns = [
    path("", views.home, name="home"),
    path("queue/<slug:view>/", views.queue, name="queue"),
    path("views/", views.save_view, name="save-view"),
    path("views/<int:view_id>/", views.open_saved_view, name="saved-view"),
    path("views/<int:view_id>/delete/", views.delete_saved_view, name="delete-view"),
    path("bulk/", views.bulk_action, name="bulk"),
    path("tickets/<int:ticket_id>/", views.ticket_page, name="ticket"),
    path("tickets/<int:ticket_id>/reply/", views.reply, name="reply"),
    path("tickets/<int:ticket_id>/note/", views.note, name="note"),
    path("tickets/<int:ticket_id>/change/", views.change, name="change"),
    path("tickets/<int:ticket_id>/tier/", views.move_tier, name="move-tier"),
    path("tickets/<int:ticket_id>/kb/", views.kb_suggestions, name="kb-suggestions"),
    path("kb/", views.kb_search, name="kb-search"),
    path("notifications/", views.notifications, name="notifications"),
    path("chats/", chat_views.chat_list, name="chats"),
    path("chats/<int:chat_id>/", chat_views.chat_console, name="chat"),
    path("chats/<int:chat_id>/accept/", chat_views.chat_accept, name="chat-accept"),
    path("chats/<int:chat_id>/transfer/", chat_views.chat_transfer, name="chat-transfer"),
    path("chats/<int:chat_id>/escalate/", chat_views.chat_escalate, name="chat-escalate"),
    path("chats/<int:chat_id>/end/", chat_views.chat_end, name="chat-end"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("rules/", rule_views.rules_home, name="rules"),
    path("rules/triggers/new/", rule_views.trigger_edit, name="trigger-new"),
    path("rules/triggers/<int:trigger_id>/", rule_views.trigger_edit, name="trigger"),
    path("rules/automations/new/", rule_views.automation_edit, name="automation-new"),
    path("rules/automations/<int:automation_id>/", rule_views.automation_edit, name="automation"),
    path("rules/webhooks/new/", rule_views.webhook_edit, name="webhook-new"),
    path("rules/webhooks/<int:webhook_id>/", rule_views.webhook_edit, name="webhook"),
    path(
        "rules/webhooks/<int:webhook_id>/enable/", rule_views.webhook_enable, name="webhook-enable"
    ),
    path(
        "rules/deliveries/<int:delivery_id>/redeliver/",
        rule_views.webhook_redeliver,
        name="webhook-redeliver",
    ),
    path("rules/<slug:kind>/<int:rule_id>/delete/", rule_views.rule_delete, name="rule-delete"),
    path("reports/", report_views.reports_home, name="reports"),
    path("reports/tickets/", report_views.report_tickets, name="report-tickets"),
    path("reports/weekly/", report_views.weekly_summary, name="report-weekly"),
    path("reports/<slug:name>/", report_views.report, name="report"),
    path("reports/<slug:name>/<slug:table>.csv", report_views.report_csv, name="report-csv"),
]
