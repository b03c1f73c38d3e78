"""Provider webhooks, mounted at /inbound/ (Twilio and monitoring are configured with these
public URLs)."""

from django.urls import path

from channels_ingest.monitoring import views as monitoring_views
from channels_ingest.sms import views as sms_views
from channels_ingest.voice import views as voice_views

urlpatterns = [
    path("sms/twilio/", sms_views.twilio_sms, name="sms-twilio"),
    path("sms/twilio/status/", sms_views.twilio_sms_status, name="sms-twilio-status"),
    path("voice/twilio/", voice_views.twilio_call_status, name="voice-twilio"),
    path("voice/twilio/incoming/", voice_views.twilio_incoming_call, name="voice-twilio-incoming"),
    path("voice/twilio/voicemail/", voice_views.twilio_voicemail, name="voice-twilio-voicemail"),
    path("monitoring/", monitoring_views.generic, name="monitoring"),
    path(
        "monitoring/alertmanager/",
        monitoring_views.alertmanager,
        name="monitoring-alertmanager",
    ),
]
