"""Below the ASGI interface: uvicorn's WebSocket protocol with spread pings, and batched frame writes."""
