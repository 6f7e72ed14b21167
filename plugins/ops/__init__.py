"""The ops plugin: what a person running Argus every day needs from it as a program.

Self-update from a local clone (``/api/source-path``, ``/api/update``), ``argus doctor`` and
``GET /api/doctor``, and smart auto-naming of tasks created without a name. See ``docs/ops.md``.
"""
