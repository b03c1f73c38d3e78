from django.urls import path

from tickets.workspace import views

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
    path("tickets/<int:ticket_id>/escalate/", views.escalate, name="escalate"),
    path("kb/", views.kb_search, name="kb-search"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
]
