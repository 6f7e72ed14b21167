"""The pwa plugin's hooks: serve the installable web app at ``/`` on the API listener."""

from __future__ import annotations

from typing import TYPE_CHECKING

from argus.kernel.api import hookimpl

from .shell import make_blueprint

if TYPE_CHECKING:  # pragma: no cover
    from argus.kernel.api import Kernel


@hookimpl
def argus_register(kernel: Kernel) -> None:
    """Add the blueprint serving the PWA shell (public routes: ``/``, assets, manifest, worker)."""
    kernel.http.add_blueprint(make_blueprint())
