"""sandbox plugin: per-session sandbox profiles (bubblewrap on Linux, sandbox-exec on macOS).

Status: a registered stub with no hooks yet: agents run unsandboxed, and a project's ``sandbox``
object is stored (``POST /api/projects``) but not applied. The kernel's auth policy already treats
a ``sandbox`` settings section as master-only once this plugin declares it.
"""
