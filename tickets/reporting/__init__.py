"""The reports a support manager runs the team on, computed from the metrics the services
keep as tickets change (tickets/models_metrics.py). Definitions: docs/reports.md."""
