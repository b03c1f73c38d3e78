"""What the help desk holds about people: exported on request, erased on request, kept no
longer than the retention rules say, and every such action written to the audit log.

- audit: the audit log's one writer.
- export: everything about a customer as a ZIP (JSON and the files), built by a worker.
- erase: a customer's personal data removed (anonymise) or their tickets deleted, in bulk.
- retention: the admins' rules, applied nightly through erase's bulk paths.
"""
