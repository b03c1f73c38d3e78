"""The customer portal at /support/: sign-in by one-time link or password, a customer's own
tickets (list, thread, reply, close, reopen, satisfaction), and the signed links in our
emails ("solved", "rate us") that work without signing in.

Views are thin: they parse input, call one selector or service, and render templates/support/.
"""

from tickets.portal.self_service import self_service_solved

__all__ = ["self_service_solved"]
