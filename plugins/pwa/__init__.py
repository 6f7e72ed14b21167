"""pwa plugin."""
