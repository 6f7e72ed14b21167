"""tasks plugin hooks (in progress)."""
