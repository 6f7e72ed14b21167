"""push plugin."""
