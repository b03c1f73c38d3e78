"""Domain errors: raised by services, turned into HTTP answers in one place (tickets.api.errors)."""

from django.utils.functional import Promise


class DomainError(Exception):
    """A request the domain refuses. `code` is stable and machine-readable."""

    code = "domain_error"

    def __init__(self, message: "str | Promise", *, code: str | None = None) -> None:
        # Messages are written in the language of the person refused (gettext where they
        # are raised); a lazily translated one is made a str here, in that language.
        message = str(message)
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class InvalidInput(DomainError):
    """The request itself is wrong (missing reason, unknown tier, bad phone number)."""

    code = "invalid"


class Conflict(DomainError):
    """The request is fine but the ticket's current state forbids it (e.g. it is closed)."""

    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class NotAllowed(DomainError):
    """The person may not do this to this ticket (tickets.policy): not their tier's, say."""

    code = "not_allowed"
