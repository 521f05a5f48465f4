"""How a sandbox stand-in takes over a moto service, and gives it back.

moto looks a service's backend class up in its module-level `BackendDict` and its request
handlers as methods of the service's `*Response` class, per request (DESIGN.md section 6).
A stand-in swaps the backend class and adds or replaces handler methods; `uninstall` undoes
exactly that, so an in-process moto used after a sandbox has stopped is moto again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ServiceExtension:
    """One moto service served by a sandbox backend class and extra response handlers."""

    backends: Any
    """The service's moto `BackendDict` (for example `moto.efs.models.efs_backends`)."""
    backend: type
    """The sandbox's backend class, a subclass of moto's."""
    moto_backend: type
    """moto's own backend class, put back by `uninstall`."""
    response_class: type | None = None
    """The service's moto `*Response` class the handlers are set on, if any."""
    handlers: Sequence[Callable[..., Any]] = ()
    """Handler methods, each set on `response_class` under its own `__name__`."""
    _replaced: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def install(self) -> None:
        """Serve the service with the sandbox backend and handlers (idempotent)."""
        if self.backends.backend is not self.backend:
            self.backends.backend = self.backend
            self.backends.clear()
        if self.response_class is None:
            return
        for handler in self.handlers:
            name = handler.__name__
            current = self.response_class.__dict__.get(name)
            if current is not handler:
                self._replaced.setdefault(name, current)
                setattr(self.response_class, name, handler)

    def uninstall(self) -> None:
        """Give the service back to moto; every sandbox record of it is forgotten."""
        if self.backends.backend is self.backend:
            self.backends.backend = self.moto_backend
            self.backends.clear()
        for name, original in self._replaced.items():
            if original is None:
                delattr(self.response_class, name)
            else:
                setattr(self.response_class, name, original)
        self._replaced.clear()
