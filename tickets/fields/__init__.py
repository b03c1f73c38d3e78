"""Custom ticket fields and forms: what a value may be (values), who reads which
(selectors), the one writer of a ticket's values (services), and their form inputs (forms)."""
