"""tui plugin."""
