"""The push path: pub/sub readers, the per-process hub of online users, outboxes and the flusher."""
