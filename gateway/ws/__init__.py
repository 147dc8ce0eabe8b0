"""`GET /v1/ws`: admission, one served connection, its request ops, close codes and token expiry."""
