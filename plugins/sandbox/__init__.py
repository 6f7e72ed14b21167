"""sandbox plugin."""
