"""Pages served by the gateway: static assets, the demo app and the ops dashboard."""
