"""tasks plugin."""
