"""docs/configuration.md, generated from every process's settings class (``rcs docs config``).

Each process parses one ``RcsSettings`` subclass from ``RCS_*`` environment variables. The
classes are found by importing every module named ``settings`` or ``config`` in the project's
packages, so a new process's settings appear here without being listed anywhere. A field's
description is the comment written above it (or after it, on its line) in the class.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from rcs_runtime.settings import RcsSettings

ROOT_PACKAGES = (
    "rcs_runtime",
    "rcs_core",
    "rcs_routing",
    "rcs_connectors",
    "rcs_simulators",
    "gateways",
    "rcs_cli",
    "rcs_rpns",
    "rcs_messengers",
    "rcs_cluster",
    "rcs_dwh",
)
_SETTINGS_MODULES = {"settings", "config"}  # and every rcs_cli module: the CLI's own settings


def _settings_modules() -> Iterator[str]:
    for root in ROOT_PACKAGES:
        try:
            package = importlib.import_module(root)
        except ModuleNotFoundError:
            continue
        for info in pkgutil.walk_packages(package.__path__, f"{root}."):
            leaf = info.name.rsplit(".", 1)[-1]
            if leaf in _SETTINGS_MODULES or (root == "rcs_cli" and leaf != "__main__"):
                yield info.name


def settings_classes() -> list[type[RcsSettings]]:
    """Every concrete settings class, base classes first, then by module and name."""
    modules = set(_settings_modules())
    for name in sorted(modules):
        importlib.import_module(name)
    found: list[type[RcsSettings]] = []
    pending: list[type[RcsSettings]] = [RcsSettings]
    while pending:
        cls = pending.pop()
        # Only classes of those modules: what else happens to be imported (tests, servicers
        # built on a settings class) must not change the document.
        if cls.__module__ in modules or cls is RcsSettings or cls.__module__ == _BASE_MODULE:
            found.append(cls)
        pending.extend(cls.__subclasses__())
    unique = {f"{c.__module__}.{c.__qualname__}": c for c in found}
    return [
        unique[k]
        for k in sorted(unique, key=lambda k: (k != _BASE, unique[k].__module__ != _BASE_MODULE, k))
    ]


_BASE = f"{RcsSettings.__module__}.{RcsSettings.__qualname__}"
_BASE_MODULE = RcsSettings.__module__


def _comments(cls: type) -> dict[str, str]:
    """Field name -> the comment above it (joined) or after it on its line."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    out: dict[str, str] = {}
    above: list[str] = []
    for raw in source.splitlines()[1:]:
        line = raw.strip()
        if line.startswith("#"):
            above.append(line.lstrip("#").strip())
            continue
        m = re.match(r"(\w+)\s*:[^=]*(?:=.*)?$", line)
        if m and not line.startswith(("def ", "class ", "@", "model_config")):
            trailing = re.search(r"\s#\s*(.+)$", line)
            text = " ".join(above) or (trailing.group(1) if trailing else "")
            out.setdefault(m.group(1), text)
        above = []
    return out


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined:
        return "*required*" if field.default_factory is None else "*computed*"
    value = field.default
    if isinstance(value, str):
        return f"`{value}`" if value else '`""`'
    return f"`{value!r}`"


def _type(field: FieldInfo) -> str:
    ann = field.annotation
    name = getattr(ann, "__name__", None) or str(ann)
    return name.replace("typing.", "")


def _own_fields(cls: type[RcsSettings]) -> list[str]:
    inherited: set[str] = set()
    for base in cls.__mro__[1:]:
        inherited |= set(getattr(base, "model_fields", {}))
    return [n for n in cls.model_fields if n not in inherited or n in cls.__annotations__]


def render() -> str:
    lines = [
        "# Configuration",
        "",
        "Generated from the settings classes by `rcs docs config > docs/configuration.md`;"
        " a test fails when this file is stale.",
        "",
        "Every process reads its settings once at start from `RCS_*` environment variables"
        " (the field name in upper case with the `RCS_` prefix). A process's class includes"
        " the fields of the classes it builds on (`RcsSettings` for all; `DatabaseSettings`"
        " for those that use PostgreSQL).",
    ]
    for cls in settings_classes():
        fields = _own_fields(cls)
        if not fields:
            continue
        comments: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            comments.update(_comments(klass))
        bases = [b.__name__ for b in cls.__bases__ if issubclass(b, RcsSettings)]
        doc = (inspect.getdoc(cls) or "").split("\n\n")[0].replace("\n", " ")
        lines += ["", f"## `{cls.__name__}` ({cls.__module__})", ""]
        if doc and cls.__doc__ is not None and "__doc__" in cls.__dict__:
            lines += [doc, ""]
        if bases:
            lines += ["Builds on " + ", ".join(f"`{b}`" for b in bases) + ".", ""]
        lines += ["| variable | type | default | meaning |", "|---|---|---|---|"]
        for name in fields:
            field = cls.model_fields[name]
            meaning = (field.description or comments.get(name, "")).replace("|", "\\|")
            lines.append(
                f"| `RCS_{name.upper()}` | {_type(field)} | {_default(field)} | {meaning} |"
            )
    return "\n".join(lines) + "\n"
