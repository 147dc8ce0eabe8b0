"""Helpers the tests share: live gateways, processes, a Valkey cluster, WebSocket and browser helpers, the model."""
