"""The agent's signature under a reply: the one place it is appended (ticket_reply).

One signature per channel (AgentProfile: email, SMS, chat, web). A reply to a web-form
ticket goes by email and carries the web signature (or, without one, the email one).
Placeholders in a signature ({{ agent.first_name }}) are filled with the reply's.
"""

from django.contrib.auth.models import User
from django.utils.html import escape, linebreaks

from tickets.models import AgentProfile, Channel

SMS_SIGNATURE_MAX = 40  # the model's max_length: an SMS is short


def signature_for(agent: User | None, channel: str, *, ticket_channel: str = "") -> str:
    """The signature `agent` set for a reply on `channel` (empty when none)."""
    if agent is None:
        return ""
    try:
        # Usually read already with the signed-in user (the workspace's and the API's
        # access checks): no query more per reply.
        profile = agent.agent_profile
    except AgentProfile.DoesNotExist:
        return ""
    if channel == Channel.EMAIL and ticket_channel == Channel.WEB and profile.web_signature:
        return profile.web_signature.strip()
    by_channel = {
        Channel.EMAIL: profile.signature,
        Channel.SMS: profile.sms_signature,
        Channel.CHAT: profile.chat_signature,
    }
    return by_channel.get(Channel(channel), "").strip()


def signed_text(text: str, signature: str, channel: str) -> str:
    if not signature or text.rstrip().endswith(signature):
        return text
    separator = " " if channel == Channel.SMS else "\n\n"
    return f"{text.rstrip()}{separator}{signature}"


def signed_html(html: str, signature: str) -> str:
    """The HTML reply with the signature as escaped paragraphs (empty HTML stays empty:
    the HTML part is then made from the signed text)."""
    if not html or not signature:
        return html
    return f'{html}<div class="signature">{linebreaks(escape(signature))}</div>'
