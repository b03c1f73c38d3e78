class Rejected(Exception):
    """The sender's failure: the payload is deliberately not turned into a ticket.

    Logged at info and recorded on the inbound item with the reason; never retried.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DeliveryError(Exception):
    """Sending a reply failed. Permanent failures are shown on the ticket; others are retried."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
