from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from tickets.roles import is_staff_member


class IsStaffMember(BasePermission):
    """Agents and admins only; customers use the portal, not this API."""

    message = "This API is for agents and admins."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_staff_member(request.user)
