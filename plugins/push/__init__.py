"""push plugin: Web Push (VAPID) notifications when an agent goes idle.

Status: a registered stub with no hooks yet: ``/api/push/*`` answers 404, and the PWA hides its
notification control accordingly.
"""
