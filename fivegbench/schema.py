"""The plan and bench reference (``fivegbench schema``), generated from the models.

Nothing here lists keys: the plan keys come from :class:`fivegbench.plan.model.Plan`, the bench
keys from :class:`fivegbench.bench.Bench`, a step's parameters and reported values from
:data:`fivegbench.kinds.KINDS`, a driver's options from :data:`fivegbench.drivers.registry.DRIVERS`.
A key's one line of meaning is its attribute docstring (pydantic ``use_attribute_docstrings``) or
its :class:`~fivegbench.params.ParamSpec` ``doc``; its type, unit and range come from the
ParamSpec or choices that parse it, so a parameter added to a kind appears here by itself.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from fivegbench import units
from fivegbench.params import ParamSpec
from fivegbench.plan.yamlsafe import WrittenAs

__all__ = ["Key", "bench_keys", "driver_reference", "kind_reference", "plan_keys", "reference"]


@dataclass(frozen=True)
class Key:
    """One key of a file: where it is, how it is written and what it means."""

    key: str
    """Key path, ``[]`` for any list item and ``<name>`` for any mapping key: ``steps[].sweep``."""
    type: str
    """``frequency``, ``power``, ``int``, ``text``, ``one of: a, b``, ``mapping``, ``list``, ..."""
    unit: str
    """The unit a quantity is stored in (it may be written in any unit of its kind), or ``""``."""
    range: str
    required: bool
    default: str
    doc: str


# --------------------------------------------------------------------------- field anatomy


def _unwrap(annotation: Any) -> tuple[Any, list[Any], bool]:
    """``Optional[Annotated[T, m...]]`` -> ``(T, [m...], optional)``."""
    metadata: list[Any] = []
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation, *extra = typing.get_args(annotation)
            metadata.extend(extra)
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(annotation))
            if len(args) != 1:
                return typing.Union[tuple(args)], metadata, optional  # noqa: UP007 - runtime union
            annotation = args[0]
        else:
            return annotation, metadata, optional


def _validators(model: type[BaseModel], name: str, metadata: list[Any]) -> Iterator[Any]:
    """The functions that parse field ``name``: its Annotated validators, then the model's
    field validators for it."""
    for item in metadata:
        func = getattr(item, "func", None)
        if func is not None:
            yield func
    for decorator in model.__pydantic_decorators__.field_validators.values():
        if name in decorator.info.fields:
            yield decorator.func


def _spec_of(funcs: list[Any]) -> ParamSpec | None:
    """The ParamSpec whose ``parse`` validates the field, if one does."""
    for func in funcs:
        owner = getattr(func, "__self__", None)
        if isinstance(owner, ParamSpec):
            return owner
    return None


def _quantity_kind(funcs: list[Any]) -> str | None:
    """A units kind a field validator closes over (``_quantity("power")``), if any."""
    for func in funcs:
        if inspect.isfunction(func):
            kind = inspect.getclosurevars(func).nonlocals.get("kind")
            if isinstance(kind, str) and kind in units.KINDS:
                return kind
    return None


def _choices_of(funcs: list[Any]) -> tuple[str, ...]:
    for func in funcs:
        choices = getattr(func, "choices", None)
        if isinstance(choices, tuple):
            return choices
    return ()


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is str:
        return "text"
    if tp is bool:
        return "true or false"
    if tp is int:
        return "int"
    if tp is float:
        return "number"
    if origin in (list, tuple) or tp in (list, tuple):
        return "list"
    if origin is dict or tp is dict or (inspect.isclass(tp) and issubclass(tp, BaseModel)):
        return "mapping"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(_type_name(a) for a in typing.get_args(tp)))
    if origin is typing.Literal:
        return "one of: " + ", ".join(map(str, typing.get_args(tp)))
    return getattr(tp, "__name__", str(tp))


def _file_model(tp: Any) -> bool:
    """A model whose keys a user writes (it refuses unknown keys): listed key by key."""
    return inspect.isclass(tp) and issubclass(tp, BaseModel) and tp.model_config.get("extra") == "forbid"


def _default_text(field: FieldInfo, spec: ParamSpec | None) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return ""
    else:
        value = field.default
    if value is None or value == () or value == {} or isinstance(value, BaseModel):
        return ""
    if spec is not None and isinstance(value, int | float) and not isinstance(value, bool):
        return spec.text(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def spec_key(key: str, spec: ParamSpec, required: bool = False, doc: str = "") -> Key:
    """A Key for a ParamSpec-parsed value (a step parameter, a driver option, a plan field)."""
    if spec.kind == "choice":
        kind = "one of: " + ", ".join(spec.choices)
    elif spec.kind == "mapping":
        kind = "mapping of " + ", ".join(name for name, _ in spec.fields)
    else:
        kind = spec.kind

    def text(value: float) -> str:
        return str(int(value)) if spec.kind == "int" else spec.text(value)

    lo = text(spec.lo) if spec.lo is not None else None
    hi = text(spec.hi) if spec.hi is not None else None
    span = f"{lo} to {hi}" if lo and hi else (f"at least {lo}" if lo else (f"at most {hi}" if hi else ""))
    default = "" if spec.default is None else spec.text(spec.default)
    return Key(key, kind, spec.unit, span, required, default, doc or spec.doc)


def model_keys(model: type[BaseModel], prefix: str = "") -> list[Key]:
    """Every key of ``model`` as written in a file, nested models flattened (``cell.scs``)."""
    out: list[Key] = []
    keys = model.file_keys({}) if hasattr(model, "file_keys") else None
    for name, field in model.model_fields.items():
        written = field.alias or name
        if keys is not None and written not in keys:
            continue  # filled from other keys (a step's params)
        tp, metadata, _ = _unwrap(field.annotation)
        metadata = [*field.metadata, *metadata]
        funcs = list(_validators(model, name, metadata))
        written_as = next((m.type for m in metadata if isinstance(m, WrittenAs)), None)
        spec = _spec_of(funcs)
        required = field.is_required()
        doc = " ".join((field.description or "").replace("``", "").split())
        key = f"{prefix}{written}"
        if spec is not None:
            out.append(spec_key(key, spec, required, doc))
            continue
        choices = _choices_of(funcs)
        kind = _quantity_kind(funcs)
        if written_as is not None:
            kind_text, unit = written_as, ""
        elif choices:
            kind_text, unit = "one of: " + ", ".join(choices), ""
        elif kind is not None:
            kind_text, unit = kind, units.KINDS[kind][0]
        else:
            kind_text, unit = _type_name(tp), ""
        out.append(Key(key, kind_text, unit, "", required, _default_text(field, None), doc))
        out += _nested(tp, key, written)
    return out


def _nested(tp: Any, key: str, written: str) -> list[Key]:
    """The keys inside a field of type ``tp``: a model, a list of models, a mapping of models, or
    a union holding one of those (``loss: 40 dB`` or a table of points)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if _file_model(tp):
        return model_keys(tp, f"{key}.")
    if origin in (list, tuple) and args and _file_model(args[0]):
        return model_keys(args[0], f"{key}[].")
    if origin is dict and len(args) == 2 and _file_model(args[1]):
        return model_keys(args[1], f"{key}.<{_item_name(written)}>.")
    if origin in (typing.Union, types.UnionType):
        return [k for arg in args for k in _nested(arg, key, written)]
    return []


def _item_name(key: str) -> str:
    return {"instruments": "role"}.get(key, "name")


# --------------------------------------------------------------------------- the references


def plan_keys() -> list[Key]:
    """Every plan key, then ``steps[].<parameter>`` pointing at the kinds."""
    from fivegbench import kinds
    from fivegbench.plan.model import Plan

    out = model_keys(Plan)
    out.append(
        Key(
            "steps[].<parameter>",
            "per kind",
            "",
            "",
            False,
            "",
            f"a parameter of the step's kind (fivegbench schema kind NAME; kinds: {', '.join(kinds.KINDS)})",
        )
    )
    return out


def bench_keys() -> list[Key]:
    """Every bench key (``instruments.<role>.options.<name>`` depends on the driver: see drivers)."""
    from fivegbench.bench import Bench

    return model_keys(Bench)


def kind_reference(name: str) -> dict[str, Any]:
    """One measurement kind: its doc, step parameters, reported values, roles and limit presets.
    KeyError when there is no such kind."""
    from fivegbench import kinds

    kind = kinds.KINDS[name]
    return {
        "name": kind.name,
        "doc": kind.doc,
        "params": [asdict(spec_key(p, spec)) for p, spec in kind.params.items()],
        "values": dict(kind.values),
        "roles": sorted(kind.roles),
        "optional_roles": sorted(kind.optional_roles),
        "presets": sorted(kind.presets),
    }


def driver_reference() -> dict[str, Any]:
    """Every driver a bench may name: its role, what it is, and the options it takes."""
    from fivegbench.drivers.registry import DRIVERS

    return {
        name: {
            "role": spec.role,
            "doc": spec.doc,
            "profile": spec.profile,
            "options": [asdict(spec_key(o, option)) for o, option in spec.options.items()],
        }
        for name, spec in DRIVERS.items()
    }


def reference(what: str = "all", name: str | None = None) -> dict[str, Any]:
    """The reference as JSON-ready data: ``plan``, ``bench`` (with ``drivers``), ``kinds`` or
    one ``kind``; ``all`` for everything."""
    from fivegbench import kinds

    if what == "kind":
        if name is None or name not in kinds.KINDS:
            raise KeyError(name)
        return {"kinds": {name: kind_reference(name)}}
    out: dict[str, Any] = {}
    if what in ("all", "plan"):
        out["plan"] = [asdict(k) for k in plan_keys()]
    if what in ("all", "bench"):
        out["bench"] = [asdict(k) for k in bench_keys()]
        out["drivers"] = driver_reference()
    if what in ("all", "kinds", "plan"):
        out["kinds"] = {k: kind_reference(k) for k in kinds.KINDS}
    return out


# --------------------------------------------------------------------------- text


def _line(key: Mapping[str, Any], width: int) -> str:
    what = [key["type"]]
    if key["unit"]:
        what.append(f"in {key['unit']}" if key["type"] in units.KINDS else key["unit"])
    if key["range"]:
        what.append(key["range"])
    if key["required"]:
        what.append("required")
    elif key["default"]:
        what.append(f"default {key['default']}")
    doc = f"  {key['doc']}" if key["doc"] else ""
    return f"  {key['key']:<{width}} {'; '.join(what)}.{doc}"


def _block(title: str, keys: Sequence[Mapping[str, Any]]) -> list[str]:
    width = max((len(k["key"]) for k in keys), default=0)
    return [title, *(_line(k, width) for k in keys), ""]


def as_text(data: Mapping[str, Any]) -> str:
    """The reference as aligned text, one key a line: ``key  type, in unit, range, default.  doc``."""
    lines: list[str] = []
    if "plan" in data:
        lines += _block(
            "PLAN (testplans/*.yaml)  quantities are text with a unit: '3750 MHz', '43 dBm'", data["plan"]
        )
    if "bench" in data:
        lines += _block("BENCH (instruments/benches/*.yaml)", data["bench"])
    for name, driver in data.get("drivers", {}).items():
        title = f"DRIVER {name} (role {driver['role']}): {driver['doc']}"
        if driver["profile"]:
            title += f"; needs a {driver['profile']} profile (instruments/profiles)"
        options = [
            {**o, "key": f"instruments.{driver['role']}.options.{o['key']}"} for o in driver["options"]
        ]
        lines += _block(title, options) if options else [title, ""]
    for name, kind in data.get("kinds", {}).items():
        lines += _block(f"KIND {name}: {kind['doc']}  (step parameters)", kind["params"])[:-1]
        values = ", ".join(f"{v} [{u}]" if u else v for v, u in kind["values"].items())
        lines.append(f"  reports: {values}")
        roles = ", ".join(kind["roles"]) + (
            f" (and {', '.join(kind['optional_roles'])} if present)" if kind["optional_roles"] else ""
        )
        lines.append(f"  bench roles: {roles}; limit presets: {', '.join(kind['presets']) or 'none'}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
