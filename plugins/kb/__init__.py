"""kb plugin."""
