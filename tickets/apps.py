from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from helpdesk import i18n, mfa
        from tickets import branding, security_log
        from tickets.automation import dispatch
        from tickets.collab import following
        from tickets.fields import selectors as field_selectors
        from tickets.models import SignInPolicy
        from tickets.problems import spikes
        from tickets.roles import ensure_role_groups
        from tickets.services import desk_setup, notification_prefs
        from tickets.services._common import event_listeners
        from tickets.workspace import preferences, sidebar

        # Groups need the permissions Django creates after migrating, so they are set up
        # then (idempotently) rather than in a migration. After every app, not only this one:
        # apps listed later (knowledge) get their permissions after tickets' signal.
        post_migrate.connect(ensure_role_groups, dispatch_uid="helpdesk-role-groups")
        sidebar.connect_signals()
        desk_setup.connect_signals()
        field_selectors.connect_signals()
        branding.connect_signals()
        notification_prefs.connect_signals()
        preferences.connect_signals()
        security_log.connect_signals()
        mfa.connect_signals()
        i18n.connect_signals()
        post_save.connect(mfa.policy.changed, sender=SignInPolicy, dispatch_uid="mfa-policy")
        # Triggers and webhook subscriptions hear every event the services write.
        if dispatch.on_events not in event_listeners:
            event_listeners.append(dispatch.on_events)
        # New tickets are counted for spikes of tickets alike (tickets.problems.spikes).
        if spikes.on_events not in event_listeners:
            event_listeners.append(spikes.on_events)
        # Followers hear of their tickets' news (tickets.collab.following).
        if following.on_events not in event_listeners:
            event_listeners.append(following.on_events)
