"""scheduler plugin."""
