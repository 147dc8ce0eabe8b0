"""HTTP: the routes of services and users, their shared plumbing, and the OpenAPI document."""
