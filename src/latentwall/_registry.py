"""One way to register plugins: a decorator in the plugin's own file.

Each plugin family (targets, judges, suites' importers, later strategies) owns a
Registry. Modules of the family's package are discovered by name, so adding a plugin
touches one file (plus its test): no list to edit anywhere else.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Generic, TypeVar

from latentwall.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, family: str, package: str) -> None:
        self.family = family
        self.package = package
        self._items: dict[str, T] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise RuntimeError(f"{self.family} '{name}' registered twice")
            self._items[name] = obj
            return obj

        return deco

    def _discover(self) -> None:
        if self._loaded:
            return
        pkg = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(pkg.__path__):
            # Plugins are private modules ("_openai.py"); "_base"-like helpers register nothing.
            importlib.import_module(f"{self.package}.{info.name}")
        self._loaded = True

    def get(self, name: str) -> T:
        self._discover()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise ConfigError(f"unknown {self.family} '{name}' (known: {known})") from None

    def names(self) -> list[str]:
        self._discover()
        return sorted(self._items)
