"""Domain errors: raised by services, turned into HTTP answers in one place (tickets.api.errors)."""


class DomainError(Exception):
    """A request the domain refuses. `code` is stable and machine-readable."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
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
