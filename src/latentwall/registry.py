"""One way to register plugins, for every family: targets, judges, strategies, guards,
analyses and report sections (and the command line's commands).

A plugin registers itself with the family's decorator in its own module. The registry
finds it without a list to edit: when a name is asked for that is not registered yet, or
when every name is listed, the family's package modules are imported by name (discovery).
Entries that must not be imported before they are used (a heavy dependency, a command that
pulls in torch) go in a lazy "module:attr" table instead, resolved on first use. Adding a
plugin touches one file plus its test.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from latentwall.errors import ConfigError

T = TypeVar("T")


def resolve(path: str) -> Any:
    """The object named by "package.module:attr"."""
    module, _, attr = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def split_spec(spec: str, family: str) -> tuple[str, str]:
    """The one spec grammar of every plugin family: "kind" or "kind:rest" (the rest is the
    plugin's own: a model and URL, options, an argument). Errors name the family."""
    kind, _, rest = spec.strip().partition(":")
    kind = kind.strip()
    if not kind:
        raise ConfigError(f"empty {family} name in '{spec.strip()}'" if spec.strip() else f"empty {family} spec")
    return kind, rest


class Registry(Generic[T]):
    """Named plugins of one family, in registration order."""

    def __init__(self, family: str, package: str | None = None, lazy: Mapping[str, str] | None = None) -> None:
        self.family = family
        self.package = package
        self._items: dict[str, T] = {}
        self._lazy: dict[str, str] = dict(lazy or {})
        self._loaded = package is None

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: `@REGISTRY.register("name")` on the plugin class or function."""

        def deco(obj: T) -> T:
            self.add(name, obj)
            return obj

        return deco

    def add(self, name: str, obj: T) -> None:
        if name in self._items and self._items[name] is not obj:
            raise RuntimeError(f"{self.family} '{name}' registered twice")
        self._items[name] = obj

    def add_lazy(self, name: str, path: str) -> None:
        """Register "module:attr", imported when `name` is first asked for."""
        self._lazy[name] = path

    def remove(self, name: str) -> None:
        self._items.pop(name, None)
        self._lazy.pop(name, None)

    def _discover(self) -> None:
        if self._loaded or self.package is None:
            return
        self._loaded = True
        pkg = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(pkg.__path__):
            # Plugins are private modules ("_openai.py"); "_base"-like helpers register nothing.
            importlib.import_module(f"{self.package}.{info.name}")

    def get(self, name: str) -> T:
        if name not in self._items and name in self._lazy:
            self._items[name] = resolve(self._lazy[name])
        if name not in self._items:
            self._discover()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise ConfigError(f"unknown {self.family} '{name}' (known: {known})") from None

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._items or name in self._lazy

    def names(self) -> list[str]:
        """Every name, sorted (lazy entries are listed without being imported)."""
        self._discover()
        return sorted({*self._items, *self._lazy})

    def items(self) -> list[tuple[str, T]]:
        """Every entry in registration order, lazy ones resolved."""
        self._discover()
        for name in list(self._lazy):
            self.get(name)
        return list(self._items.items())

    def values(self) -> Iterable[T]:
        return [v for _, v in self.items()]
