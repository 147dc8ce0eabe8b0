"""Servers the benchmark compares reddot with: python-socketio with Redis, and a bare forwarder."""
