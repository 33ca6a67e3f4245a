"""YAML -> pydantic with one-line errors that carry ``file:line:col``.

A private stand-in for the generic helper of :mod:`sim.scenarios.loader`; the two are
meant to be merged. ``yaml.safe_load`` gives the data, ``yaml.compose`` of the same
text gives the node tree that maps a pydantic error ``loc`` back to a line and column.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Sequence, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from sim.errors import UserError

M = TypeVar("M", bound=BaseModel)


class YamlDoc:
    """A parsed YAML file: its data and a locator from field paths to ``file:line:col``."""

    def __init__(self, path: Path, data: Any, node: yaml.Node | None):
        self.path = path
        self.data = data
        self.node = node

    def where(self, loc: Sequence[Any]) -> str:
        """``file:line:col`` of the deepest node on ``loc`` that exists (the file alone if none)."""
        node, found = self.node, None
        for key in loc:
            if isinstance(node, yaml.MappingNode):
                nxt = None
                for k, v in node.value:
                    if str(k.value) == str(key):
                        nxt = (k, v)
                        break
                if nxt is None:
                    break
                found, node = nxt[0], nxt[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
                node = node.value[key]
                found = node
            else:
                break
        if found is None:
            return f"{self.path}:1:1" if self.node is not None else str(self.path)
        return f"{self.path}:{found.start_mark.line + 1}:{found.start_mark.column + 1}"

    def error(self, loc: Sequence[Any], message: str) -> UserError:
        label = ".".join(str(p) for p in loc)
        return UserError(f"{self.where(loc)}: {label + ': ' if label else ''}{message}")


def read_yaml(path: str | Path) -> YamlDoc:
    """Parse a YAML mapping; syntax errors and duplicate keys become :class:`UserError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, expected a YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise UserError(f"{where}: invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}:1:1: expected a mapping of fields (key: value) at the top level")
    _check_duplicate_keys(path, node)
    return YamlDoc(path, data, node)


def _check_duplicate_keys(path: Path, node: yaml.Node | None) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            key = str(k.value)
            if key in seen:
                raise UserError(f"{path}:{k.start_mark.line + 1}:{k.start_mark.column + 1}: {key}: "
                                "duplicate key; each field may appear once")
            seen.add(key)
            _check_duplicate_keys(path, v)
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            _check_duplicate_keys(path, v)


def validate(doc: YamlDoc, model_cls: type[M]) -> M:
    """Validate ``doc.data`` as ``model_cls``; the first error becomes a one-line :class:`UserError`."""
    try:
        return model_cls.model_validate(doc.data)
    except ValidationError as exc:
        errors = exc.errors()
        err = errors[0]
        loc = list(err["loc"])
        msg = _message(model_cls, err)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise doc.error(loc, msg + more) from None


def _message(model_cls: type[BaseModel], err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    loc = list(err["loc"])
    if kind == "extra_forbidden":
        allowed = _fields_at(model_cls, loc[:-1])
        hint = ""
        if allowed:
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; allowed: {', '.join(allowed)}"
        return f"unknown field{hint}"
    if kind == "missing":
        return "required field is missing"
    msg = str(err.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    if "input" in err and kind not in ("value_error",) and not isinstance(err["input"], (dict, list)):
        msg = f"{msg} (got {err['input']!r})"
    return msg


def _fields_at(model_cls: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """Field names of the model reached by following ``loc`` from ``model_cls`` (best effort)."""
    import typing

    current: Any = model_cls
    for key in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(key))
            if field is None:
                return []
            current = field.annotation
        else:
            args = [a for a in typing.get_args(current) if a is not type(None)]
            # dict[str, X] or list[X] or X | None: step into the value type
            current = args[-1] if args else None
        while current is not None and not (isinstance(current, type) and issubclass(current, BaseModel)):
            args = [a for a in typing.get_args(current) if a is not type(None)]
            if len(args) == 1:
                current = args[0]
            else:
                break
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []
