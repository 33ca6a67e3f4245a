"""Load scenario YAML files: ``extends`` chains, overrides, and one-line errors with file:line:col.

A scenario file is read with ``yaml.safe_load`` for its data and ``yaml.compose`` for its node
tree; the node tree is only used to turn a pydantic error location (``drivers.trsut``) back into
the line and column where the user wrote it::

    scenarios/x.yaml:5:3: drivers.trsut: unknown field; did you mean trust?

Precedence, lowest first: schema defaults < the scenario a file ``extends`` (recursively) < the
file < overrides (dotted paths such as ``drivers.funding.scale``). Mappings from a child are
deep-merged over its parent's key by key; lists and scalars replace. A child (or an override)
that sets a driver's ``points`` lets go of a ``constant`` it inherited for that driver.

:func:`load_yaml_model` applies the same reading and error rules to any other pydantic model
kept in a YAML file (experiment files, calibration targets, ...), and hands back a locator so
that checks made after validation can name ``file:line:col`` too.
"""

from __future__ import annotations

import copy
import difflib
import math
import os
import re
import stat
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

import sim
from sim.errors import UserError
from sim.limits import MAX_YAML_BYTES, MAX_YAML_NODES
from sim.scenarios.schema import Scenario, _year_month

__all__ = [
    "SHIPPED_DIR",
    "apply_overrides",
    "load_scenario",
    "load_yaml_model",
    "parameter_path_type",
    "scenario_to_dict",
    "shipped_scenarios",
]

#: Folder of the scenarios shipped with the project (``<repo>/scenarios``).
SHIPPED_DIR = Path(sim.__file__).resolve().parents[1] / "scenarios"

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)
#: How an error location is named in messages: ``(loc, file data) -> name``, None for the dotted path.
PathNamer = Callable[[Loc, Mapping[str, Any]], str | None]


@dataclass(frozen=True)
class _Source:
    """One file of an ``extends`` chain: its data and the YAML node tree it came from."""

    path: Path  # resolved, for identity and for resolving relative ``extends``
    label: str  # how the file is named in messages
    data: dict[str, Any]
    root: yaml.Node


class _OverrideError(Exception):
    """An override path that does not fit the schema (turned into a UserError by the caller)."""


# --------------------------------------------------------------------------- public API


def shipped_scenarios() -> dict[str, Path]:
    """Return the shipped scenarios.

    Returns:
        Scenario name (file stem) -> path of every ``*.yaml`` in :data:`SHIPPED_DIR`, sorted by
        name; empty when the folder does not exist (e.g. an installed wheel).
    """
    if not SHIPPED_DIR.is_dir():
        return {}
    return {p.stem: p for p in sorted(SHIPPED_DIR.glob("*.yaml")) if p.is_file()}


def scenario_to_dict(sc: Scenario) -> dict[str, Any]:
    """Return a JSON-able dict of a scenario (``Scenario.model_validate`` gives it back)."""
    return sc.model_dump(mode="json")


def load_scenario(path: str | os.PathLike[str], overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read, merge and validate a scenario file.

    Args:
        path: The YAML file. A bare name that is not an existing file but is a shipped scenario
            (``baseline`` or ``baseline.yaml``) loads the shipped one.
        overrides: Dotted path -> value (``{"drivers.funding.scale": 1.2}``), applied after the
            ``extends`` chain is merged and before validation.

    Returns:
        The validated scenario. Its ``extends`` keeps the value written in the file; its
        ``parameters`` (a parameter ensemble, checked here) is the path from the working folder
        of the file named by whichever file of the chain sets it, relative to that file.

    Raises:
        UserError: One line naming the file, line and column and the field, e.g.
            ``scenarios/x.yaml:5:3: drivers.trsut: unknown field; did you mean trust?``.
    """
    first = _top_path(path)
    sources = _read_chain(first, label=os.fspath(path))
    merged: dict[str, Any] = {}
    for src in reversed(sources):  # parents first, so each child is merged over them
        merged = _deep_merge(merged, src.data)
        _release_inherited_constants(merged, src.data)
    overrides = overrides or {}
    setter = next((s for s in sources if "parameters" in s.data), None)  # the file whose value wins
    where = ""
    if setter is not None and "parameters" not in overrides:
        where = f"{setter.label}{_mark(_locate_in(setter, ('parameters',))[1].start_mark)}"
        merged["parameters"] = _resolve_ensemble(setter, where, Path(sources[0].label).is_absolute())
    scenario = _override_and_validate(merged, overrides, sources, prefix=f"{sources[0].label}: ")
    if where and scenario.parameters is not None:
        from sim.analysis.posterior import load_posterior  # reads Parquet: only for a scenario that names one

        load_posterior(scenario.parameters, option=f"{where}: parameters:")
    return scenario


def apply_overrides(scenario_or_dict: Scenario | Mapping[str, Any], overrides: Mapping[str, Any]) -> Scenario:
    """Set values by dotted path and validate the result.

    Paths must exist in the schema (``mnc.trust_sensitivity``, ``assets.success.phase2``,
    ``drivers.funding.shocks.0.change``); new keys are only created inside dict-typed fields
    such as ``assets.success`` or ``drivers.trust.points``. A section the input lacks is filled
    from its schema default before the value is set, so siblings keep their defaults.

    Args:
        scenario_or_dict: A scenario, or its data as a mapping (not changed).
        overrides: Dotted path -> value.

    Returns:
        A new, validated scenario.

    Raises:
        UserError: One line naming the override path: an unknown path (with a did-you-mean) or
            a value the schema rejects.
    """
    if isinstance(scenario_or_dict, Scenario):
        data = scenario_or_dict.model_dump()
    else:
        data = copy.deepcopy(dict(scenario_or_dict))
    return _override_and_validate(data, overrides, [], prefix="")


def load_yaml_model(
    path: str | os.PathLike[str],
    model: type[M],
    *,
    what: str = "file",
    name_path: PathNamer | None = None,
) -> tuple[M, Callable[[Sequence[str | int]], str]]:
    """Read one YAML file and validate it as ``model``, with the scenario loader's error rules.

    Args:
        path: The YAML file (named in messages as given).
        model: The pydantic model the whole file must satisfy.
        what: What the file is, for messages (``"experiment file"`` gives
            ``x.yaml: experiment file not found``).
        name_path: Optional ``(loc, data) -> name`` for naming an error's location in messages
            (e.g. ``target C3`` for ``targets.2``); None or a None result keeps the dotted path.

    Returns:
        The validated model, and ``where(loc)``: the ``file:line:col`` of the deepest node along
        ``loc`` that the file has (the top of the file when none), for checks made after
        validation.

    Raises:
        UserError: One line: a missing or unreadable file, invalid YAML (with its line and
            column), a top level that is not a mapping, a key given twice, or the first schema
            error as ``file:line:col: dotted.path: what is wrong`` (unknown fields with a
            did-you-mean, type and range errors with what is allowed) plus how many more.
    """
    label = os.fspath(path)
    src = _read_source(Path(path), label, what=what, kind=what)
    try:
        obj = model.model_validate(src.data)
    except ValidationError as exc:
        raise UserError(_explain(exc, model, [src], {}, prefix=f"{label}: ", name_path=name_path)) from None
    return obj, _locator(src)


def _locator(src: _Source) -> Callable[[Sequence[str | int]], str]:
    """``where(loc) -> "file:line:col"`` over one file's node tree."""

    def where(loc: Sequence[str | int]) -> str:
        return f"{src.label}{_mark(_locate_in(src, tuple(loc))[1].start_mark)}"

    return where


def _override_and_validate(data: dict[str, Any], overrides: Mapping[str, Any], sources: list[_Source],
                           prefix: str) -> Scenario:
    """Set each override in ``data`` (changed in place), then validate it as a Scenario."""
    _release_inherited_constants(data, _driver_settings(overrides))
    for key, value in overrides.items():
        try:
            _set_path(data, key, value)
        except _OverrideError as exc:
            raise UserError(f"{prefix}override {key}: {exc}") from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise UserError(_explain(exc, Scenario, sources, overrides, prefix=prefix)) from None


# ------------------------------------------------------------------------ reading files


def _top_path(path: str | os.PathLike[str]) -> Path:
    """The file to load; a bare shipped name stands for the shipped file when no such file exists."""
    p = Path(path)
    if not p.exists() and len(p.parts) == 1:
        shipped = _shipped_file(p.name)
        if shipped is not None:
            return shipped
    return p


def _shipped_file(name: str) -> Path | None:
    """The shipped scenario called ``name`` (with or without ``.yaml``), if there is one."""
    stem = name[: -len(".yaml")] if name.endswith(".yaml") else name
    if not stem or "/" in stem or os.sep in stem:
        return None
    candidate = SHIPPED_DIR / f"{stem}.yaml"
    return candidate if candidate.is_file() else None


def _display(path: Path, absolute: bool) -> str:
    """How to name an inherited file: absolute, or relative to the working directory where possible.

    Follows how the top file was named, so one message does not mix the two styles.
    """
    if absolute:
        return str(path)
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read_text(path: Path, label: str, what: str, kind: str) -> str:
    """The text of a regular file of at most :data:`~sim.limits.MAX_YAML_BYTES`; else one-line UserError."""
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer (it is refused below)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise UserError(f"{label}: {what} not found") from None
    except IsADirectoryError:
        raise UserError(f"{label}: is a directory, not {_article(kind)} {kind}") from None
    except OSError as exc:
        raise UserError(f"{label}: cannot read file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        raise UserError(f"{label}: is a directory, not {_article(kind)} {kind}")
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"{label}: not a regular file (a device, pipe or socket); give {_article(kind)} {kind}")
        too_big = (f"{label}: the file is larger than {MAX_YAML_BYTES // 1024} KiB; allowed at most "
                   f"{MAX_YAML_BYTES // 1024} KiB for {_article(kind)} {kind}")
        if st.st_size > MAX_YAML_BYTES:
            raise UserError(too_big)
        try:
            raw = fh.read(MAX_YAML_BYTES + 1)
        except OSError as exc:
            raise UserError(f"{label}: cannot read file ({exc.strerror or exc})") from None
    if len(raw) > MAX_YAML_BYTES:
        raise UserError(too_big)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _read_source(path: Path, label: str, *, what: str = "file", kind: str = "scenario file",
                 unique_keys: bool = True) -> _Source:
    """Read one YAML file; every failure is a one-line UserError naming the file.

    ``what`` names the file when it is missing, ``kind`` when it is a directory. Refused: a file
    that is not a regular file or is too large, more values than
    :data:`~sim.limits.MAX_YAML_NODES` once aliases are expanded, NaN or an infinity anywhere,
    and (with ``unique_keys``) a key written twice in one mapping.
    """
    text = _read_text(path, label, what, kind)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        _check_nodes(label, root, unique_keys)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        raise UserError(f"{label}{_mark(exc.problem_mark or exc.context_mark)}: invalid YAML: {_yaml_problem(exc)}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{label}: invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise UserError(f"{label}: invalid YAML: nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        got = "the file is empty" if data is None else f"got {_show(data)}"
        raise UserError(f"{label}{_mark(root.start_mark if root else None)}: the top level must be a mapping of "
                        f"field: value lines ({got})")
    return _Source(path=path.resolve(), label=label, data=data, root=root)


_FLOAT_TAG = "tag:yaml.org,2002:float"


def _check_nodes(label: str, root: yaml.Node | None, unique_keys: bool) -> None:
    """One walk of the node tree, aliases expanded: the size limit, finite numbers, unique keys.

    Iterative, and stopped at :data:`~sim.limits.MAX_YAML_NODES` values, so an alias bomb (or an
    alias that contains itself) costs no more than that.
    """
    if root is None:
        return
    seen_maps: set[int] = set()
    stack: list[tuple[yaml.Node, Loc]] = [(root, ())]
    count = 0
    while stack:
        node, loc = stack.pop()
        count += 1
        if count > MAX_YAML_NODES:
            raise UserError(f"{label}: more than {MAX_YAML_NODES:,} values once YAML aliases (*name) are "
                            f"expanded; allowed at most {MAX_YAML_NODES:,}")
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _FLOAT_TAG and not _finite_yaml_float(node.value):
                where = f"{_dotted(loc)}: " if loc else ""
                raise UserError(f"{label}{_mark(node.start_mark)}: {where}{node.value} is not allowed; numbers "
                                "must be finite (no .nan or .inf)")
        elif isinstance(node, yaml.MappingNode):
            first = id(node) not in seen_maps
            seen_maps.add(id(node))
            keys: set[tuple[str, Any]] = set()
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                here = (*loc, key) if key is not None else loc
                if unique_keys and first and key is not None:
                    if (key_node.tag, key) in keys:
                        raise UserError(f"{label}{_mark(key_node.start_mark)}: {_dotted(here)}: duplicate key; "
                                        "each field may appear once")
                    keys.add((key_node.tag, key))
                stack.append((key_node, here))
                stack.append((value_node, here))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*loc, i)) for i, item in enumerate(node.value))


def _finite_yaml_float(text: str) -> bool:
    """Whether a YAML float (``.nan``, ``-.inf``, ``1e999``, ``1_000.5``) is a finite number."""
    value = text.replace("_", "").strip().lower()
    if "nan" in value or "inf" in value:
        return False
    try:
        return math.isfinite(float(value))
    except ValueError:  # YAML 1.1's base-60 floats (1:30.5): finite by construction
        return True


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    """YAML's own description of a syntax error, on one line."""
    problem = exc.problem or "cannot parse"
    return f"{problem} ({exc.context})" if exc.context else problem


def _mark(mark: yaml.Mark | None) -> str:
    """``:line:col`` (1-based) for a YAML mark, or nothing."""
    return f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""


def _read_chain(first: Path, label: str) -> list[_Source]:
    """Read a file and everything it ``extends``, child first."""
    sources = [_read_source(first, label)]
    absolute = Path(label).is_absolute()
    while True:
        child = sources[-1]
        value = child.data.get("extends")
        if value is None:
            return sources
        where = f"{child.label}{_mark(_locate_in(child, ('extends',))[1].start_mark)}"
        if not isinstance(value, str) or not value.strip():
            raise UserError(f"{where}: extends: expected a scenario name or path (got {_show(value)})")
        parent = _resolve_extends(value, child, where, absolute)
        chain = [s.path for s in sources]
        if parent in chain:
            names = [s.label for s in sources[chain.index(parent):]] + [sources[chain.index(parent)].label]
            raise UserError(f"{where}: extends: circular extends chain {' -> '.join(names)}")
        sources.append(_read_source(parent, _display(parent, absolute)))


def _resolve_extends(value: str, child: _Source, where: str, absolute: bool) -> Path:
    """Find the file an ``extends`` value names: absolute path, path relative to the child, shipped name."""
    p = Path(value).expanduser()
    if p.is_absolute():
        if p.is_file():
            return p.resolve()
        raise UserError(f"{where}: extends: scenario file {value} not found")
    relative = child.path.parent / p
    if relative.is_file():
        return relative.resolve()
    shipped = _shipped_file(value)
    if shipped is not None:
        return shipped.resolve()
    names = ", ".join(shipped_scenarios()) or "none"
    raise UserError(f"{where}: extends: scenario {value!r} not found (no file {_display(relative, absolute)} and no "
                    f"shipped scenario of that name; shipped: {names})")


def _resolve_ensemble(src: _Source, where: str, absolute: bool) -> str | None:
    """The ``parameters:`` file ``src`` names, as a path from the working folder (relative to ``src``
    as written); None for ``parameters: null``."""
    value = src.data["parameters"]
    if value is None:
        return None
    allowed = "allowed: the path of a posterior.parquet written by licsim calibrate, relative to this file"
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{where}: parameters: expected a file path (got {_show(value)}); {allowed}, or null")
    p = Path(value).expanduser()
    p = Path(os.path.normpath(p if p.is_absolute() else src.path.parent / p))
    if not p.is_file():
        raise UserError(f"{where}: parameters: no file {_display(p, absolute)}; {allowed} or absolute")
    return _display(p, absolute)


def _driver_settings(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Which fields of which drivers dotted-path overrides set: ``{"drivers": {name: {field: True}}}``."""
    drivers: dict[str, dict[str, bool]] = {}
    for key in overrides:
        parts = str(key).split(".")
        if len(parts) >= 3 and parts[0] == "drivers":
            drivers.setdefault(parts[1], {})[parts[2]] = True
    return {"drivers": drivers}


def _release_inherited_constants(merged: dict[str, Any], data: Mapping[str, Any]) -> None:
    """A driver whose points a file (or an override) sets follows them: a ``constant`` it inherited
    from the scenario the file extends no longer holds it flat (otherwise the points would be ignored)."""
    drivers, into = data.get("drivers"), merged.get("drivers")
    if not isinstance(drivers, Mapping) or not isinstance(into, dict):
        return
    for name, driver in drivers.items():
        if isinstance(driver, Mapping) and "points" in driver and "constant" not in driver:
            if isinstance(into.get(name), dict) and "constant" in into[name]:
                into[name]["constant"] = None


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged over ``base``: mappings merge key by key, anything else replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# ------------------------------------------------------------------ walking the schema


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` down to the type that holds the data."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _schema_child(tp: Any, seg: str | int) -> tuple[Any, FieldInfo | None]:
    """The schema type one step below ``tp`` and, for a model field, its FieldInfo.

    Raises:
        KeyError: ``seg`` is not a field of the model ``tp``.
        IndexError: ``tp`` is a list and ``seg`` is not an index.
        TypeError: ``tp`` is a single value with nothing below it.
    """
    tp = _unwrap(tp)
    if _is_model(tp):
        field = tp.model_fields.get(str(seg))
        if field is None:
            raise KeyError(seg)
        return field.annotation, field
    origin = get_origin(tp)
    if origin is dict:
        return get_args(tp)[1], None
    if origin is list:
        if isinstance(seg, int) or str(seg).isdigit():
            return get_args(tp)[0], None
        raise IndexError(seg)
    raise TypeError(seg)


def _schema_at(model: type[BaseModel], loc: Sequence[str | int]) -> tuple[Any, FieldInfo | None] | None:
    """The schema type and FieldInfo at ``loc`` in ``model`` (None when the path leaves the schema)."""
    tp: Any = model
    field: FieldInfo | None = None
    for seg in loc:
        try:
            tp, field = _schema_child(tp, seg)
        except (KeyError, IndexError, TypeError):
            return None
    return tp, field


def parameter_path_type(path: str) -> Any:
    """The type of the value at a dotted scenario path (``float`` for ``mnc.hurdle``, ``int`` for
    ``population.biotechs``); None where the schema has no such path."""
    at = _schema_at(Scenario, path.split("."))
    return None if at is None else _unwrap(at[0])


def _field_names(tp: Any) -> list[str]:
    tp = _unwrap(tp)
    return list(tp.model_fields) if _is_model(tp) else []


def _did_you_mean(name: str, allowed: list[str]) -> str:
    guess = difflib.get_close_matches(name, allowed, n=1)
    if guess:
        return f"did you mean {guess[0]}?"
    return f"allowed {', '.join(allowed)}" if allowed else ""


# --------------------------------------------------------------------------- overrides


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``data[a][b][c] = value`` for ``path = "a.b.c"``, following the schema.

    Sections missing from ``data`` are filled from their schema default first, so setting
    ``assets.success.phase2`` keeps the other stages' defaults.

    Raises:
        _OverrideError: The path does not exist in the schema.
    """
    segs = path.split(".")
    if any(not s.strip() for s in segs):
        raise _OverrideError("empty path segment; write fields separated by dots, e.g. drivers.funding.scale")
    tp: Any = Scenario
    node: Any = data
    for i, seg in enumerate(segs):
        here = ".".join(segs[: i + 1])
        try:
            child_tp, field = _schema_child(tp, seg)
        except KeyError:
            hint = _did_you_mean(seg, _field_names(tp))
            raise _OverrideError(f"unknown field {here}" + (f"; {hint}" if hint else "")) from None
        except IndexError:
            raise _OverrideError(f"{'.'.join(segs[:i])} is a list; use an item number, not {seg!r}") from None
        except TypeError:
            raise _OverrideError(f"{'.'.join(segs[:i])} is a single value; it has no field {seg}") from None
        last = i == len(segs) - 1
        if isinstance(node, list):
            idx = int(seg)
            if idx >= len(node):
                raise _OverrideError(f"{'.'.join(segs[:i])} has {len(node)} items; there is no item {idx}")
            if last:
                node[idx] = value
                return
            nxt = node[idx]
        else:
            if last:
                node[seg] = value
                return
            nxt = node.get(seg)
            if nxt is None:
                nxt = node[seg] = _default_data(field)
        if not isinstance(nxt, (dict, list)):
            raise _OverrideError(f"{here} is {_show(nxt)}, not a mapping, so it has no field {segs[i + 1]}")
        node, tp = nxt, child_tp


def _default_data(field: FieldInfo | None) -> Any:
    """Plain data for a section's schema default ({} when it has none)."""
    if field is None or field.is_required():
        return {}
    default = field.get_default(call_default_factory=True)
    if isinstance(default, BaseModel):
        return default.model_dump()
    return copy.deepcopy(default) if isinstance(default, (dict, list)) else {}


# ---------------------------------------------------------------------- explaining errors


def _explain(exc: ValidationError, model: type[BaseModel], sources: list[_Source], overrides: Mapping[str, Any],
             prefix: str, name_path: PathNamer | None = None) -> str:
    """One line for a pydantic ValidationError: the first error, located, plus how many more."""
    # an unknown field first: a misspelt key also makes the field it meant "missing"
    errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
    line = _explain_one(errors[0], model, sources, overrides, prefix, name_path)
    if len(errors) > 1:
        line += f" (and {len(errors) - 1} more)"
    return line


def _explain_one(err: ErrorDetails, model: type[BaseModel], sources: list[_Source], overrides: Mapping[str, Any],
                 prefix: str, name_path: PathNamer | None) -> str:
    loc: Loc = tuple(err["loc"])
    detail = _describe(err, loc, model)
    if loc:
        name = name_path(loc, sources[0].data if sources else {}) if name_path else None
        text = f"{name or _dotted(loc)}: {detail}"
        candidates = [_refine(loc, detail)]
    else:
        # Model-level validators have no loc; their messages start with the dotted path.
        text = detail
        lead = _leading_path(detail, model)
        candidates = [lead]
        if lead == ("end",) and "start" in model.model_fields:
            candidates.append(("start",))  # end inherited from a parent or the default: blame start
    for path, value in overrides.items():
        opath = tuple(path.split("."))
        if any(_related(target, opath) for target in candidates):
            shown = detail if loc and _same(candidates[0], opath) else text
            return f"{prefix}override {path}={_show(value)}: {shown}"
    if not sources:
        return f"{prefix}{text}"
    src, node = _locate_any(sources, candidates)
    return f"{src.label}{_mark(node.start_mark)}: {text}"


def _dotted(loc: Sequence[str | int]) -> str:
    return ".".join(str(s) for s in loc if s != "[key]")


def _same(a: Loc, b: Loc) -> bool:
    return [str(s) for s in a if s != "[key]"] == [str(s) for s in b]


def _related(err_path: Loc, override: Loc) -> bool:
    """Whether an error at ``err_path`` is about a value an override set (one path contains the other)."""
    a = [str(s) for s in err_path if s != "[key]"]
    b = [str(s) for s in override]
    n = min(len(a), len(b))
    return n > 0 and a[:n] == b[:n]


_POINT = re.compile(r"^point (\S+) = ")
_LEADING_PATH = re.compile(r"^([A-Za-z_][\w\-]*(?:\.[\w\-]+)*)(?=:|\s|$)")


def _refine(loc: Loc, detail: str) -> Loc:
    """A driver validator's error is on the driver; point it at the offending dated point."""
    m = _POINT.match(detail)
    return (*loc, "points", m.group(1)) if m else loc


def _leading_path(message: str, model: type[BaseModel]) -> Loc:
    """The dotted path a model-level message starts with (``assets.success.phase1 = 1.5; ...``)."""
    m = _LEADING_PATH.match(message)
    if not m:
        return ()
    path = tuple(m.group(1).split("."))
    return path if path[0] in model.model_fields else ()


def _describe(err: ErrorDetails, loc: Loc, model: type[BaseModel]) -> str:
    """What is wrong and what is allowed, in the user's terms."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = err.get("input")
    if kind == "extra_forbidden":
        at = _schema_at(model, loc[:-1])
        hint = _did_you_mean(str(loc[-1]), _field_names(at[0]) if at else [])
        return "unknown field" + (f"; {hint}" if hint else "")
    if kind == "missing":
        return "required field is missing"
    if kind == "finite_number":
        return f"{_show(got)} is not allowed; numbers must be finite (no .nan or .inf)"
    expected = _expected(kind)
    if expected:
        return f"expected {expected} (got {_show(got)})"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{_show(got)} is out of range; allowed {_allowed_range(model, loc, ctx)}"
    if kind == "string_pattern_mismatch":
        return f"{_show(got)} does not match the pattern {ctx.get('pattern')}"
    return str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")


_EXPECTED = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "string": "text",
    "dict": "a mapping of key: value lines",
    "model": "a mapping of field: value lines",
    "list": "a list",
}


def _expected(kind: str) -> str | None:
    """For pydantic's type errors (``int_parsing``, ``float_type``, ...), what was expected."""
    if kind == "int_from_float" or kind.endswith(("_type", "_parsing")):
        return _EXPECTED.get(kind.split("_")[0])
    return None


def _allowed_range(model: type[BaseModel], loc: Loc, ctx: Mapping[str, Any]) -> str:
    """``1 to 20000`` from the field's ge/le (or gt/lt) constraints; pydantic's ctx as a fallback."""
    bounds: dict[str, Any] = dict(ctx)
    at = _schema_at(model, loc)
    if at and at[1] is not None:
        for meta in at[1].metadata:
            for name in ("ge", "gt", "le", "lt"):
                if getattr(meta, name, None) is not None:
                    bounds[name] = getattr(meta, name)
    low = ("ge", bounds["ge"]) if "ge" in bounds else ("gt", bounds["gt"]) if "gt" in bounds else None
    high = ("le", bounds["le"]) if "le" in bounds else ("lt", bounds["lt"]) if "lt" in bounds else None
    if low and high and low[0] == "ge" and high[0] == "le":
        return f"{_num(low[1])} to {_num(high[1])}"
    parts = []
    if low:
        parts.append(f"{'at least' if low[0] == 'ge' else 'more than'} {_num(low[1])}")
    if high:
        parts.append(f"{'at most' if high[0] == 'le' else 'less than'} {_num(high[1])}")
    return " and ".join(parts) or "a different value"


def _num(x: Any) -> str:
    """Numbers as people write them: 0 rather than 0.0."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return str(x)


def _show(value: Any) -> str:
    """A short, one-line rendering of a bad value."""
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# ------------------------------------------------------------------ locating YAML nodes


def _locate_any(sources: list[_Source], candidates: list[Loc]) -> tuple[_Source, yaml.Node]:
    """The file and node that best match the first candidate path found in full, else the deepest match."""
    best: tuple[int, _Source, yaml.Node] | None = None
    for path in candidates:
        for src in sources:  # child first: the file that wins the merge
            depth, node = _locate_in(src, path)
            if depth == len([s for s in path if s != "[key]"]):
                return src, node
            if best is None or depth > best[0]:
                best = (depth, src, node)
    assert best is not None
    return best[1], best[2]


def _locate_in(src: _Source, path: Loc) -> tuple[int, yaml.Node]:
    """Follow ``path`` through one file's node tree; how many steps matched, and the node to point at.

    For a mapping entry the node is its key (where the user wrote the field's name).
    """
    node: yaml.Node = src.root
    mark = node
    depth = 0
    for seg in path:
        if seg == "[key]":
            break  # ``mark`` is already the key node
        if isinstance(node, yaml.MappingNode):
            hit = None
            for key_node, value_node in node.value:
                if _key_matches(key_node, seg):
                    hit = (key_node, value_node)  # no break: the last duplicate wins, as in safe_load
            if hit is None:
                break
            mark, node = hit
        elif isinstance(node, yaml.SequenceNode) and str(seg).isdigit() and int(seg) < len(node.value):
            node = mark = node.value[int(seg)]
        else:
            break
        depth += 1
    return depth, mark


def _key_matches(key_node: yaml.Node, seg: str | int) -> bool:
    """Whether a YAML key is the one a pydantic loc names (loc keys may be str(), repr() or normalised)."""
    if not isinstance(key_node, yaml.ScalarNode):
        return False
    target = str(seg)
    if key_node.value == target:
        return True
    try:
        key = yaml.SafeLoader("").construct_object(key_node)
    except yaml.YAMLError:
        return False
    if target in (str(key), repr(key)):
        return True
    try:  # dated keys: 2018 and 2018-01-15 are both written 2018-01 in messages
        return _year_month(key) == target
    except ValueError:
        return False
