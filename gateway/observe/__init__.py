"""Observability: Prometheus metrics, this process's readings, the fleet reports, the access log."""
