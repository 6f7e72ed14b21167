"""hera plugin."""
