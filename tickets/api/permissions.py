from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from tickets import policy
from tickets.roles import is_staff_member, role_of

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class IsStaffMember(BasePermission):
    """People on staff only; customers use the portal, not this API. Light agents read,
    and write internal notes (views that say `light_agents_write = True`): the role lacks
    "work_tickets" (tickets.policy), which the services ask too, whatever the door."""

    message: str | Promise = _("This API is for agents and admins.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if not is_staff_member(request.user):
            return False
        if request.method in SAFE_METHODS or getattr(view, "light_agents_write", False):
            return True
        if not policy.may(role_of(request.user), "work_tickets"):
            self.message = gettext("Light agents read tickets and write internal notes only.")
            return False
        return True
