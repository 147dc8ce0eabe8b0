"""`reddot load`: drive gateways with many WebSocket clients and HTTP traffic, then check for drift."""
