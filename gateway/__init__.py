"""The reddot gateway: HTTP for services and users, WebSocket pushes for apps, over `counters`."""
