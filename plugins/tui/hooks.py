"""tui plugin hooks (in progress)."""
