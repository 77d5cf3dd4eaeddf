"""Bounded YAML loading with source positions, and pydantic errors as one-line PlanErrors.

Plans and bench files are read with this module, never with ``yaml.load``:

* the file is refused before parsing when it is larger than :data:`MAX_BYTES`;
* while composing (SafeLoader, node tree only, no object construction) more than
  :data:`MAX_ALIASES` aliases or nesting deeper than :data:`MAX_DEPTH` levels are refused;
* plain Python data (dict/list/str/int/float/bool/None) is then built from the node tree by this
  module, recording each node's 1-based line and column under its key path. Expanding aliases is
  bounded too (:data:`MAX_ALIAS_NODES`), so an alias bomb ("billion laughs") is refused, not built.

Mapping keys must be text and may not repeat. Plain scalars containing ``:`` stay text (YAML 1.1
would read ``10:2:2`` as the base-60 integer 36122).

Control characters (:mod:`fivegbench.safetext`) are refused where they are built: a text value may
hold only the TAB, LF and CR a block or quoted scalar can produce, a mapping key none at all (keys
are echoed in key paths and messages, which must stay one line). Lone surrogates count as control
characters. A raw control byte in the file (NUL, BEL, ESC, ...) is refused by PyYAML's reader,
reported here at its line and column.

:func:`validate` is generic: it runs any pydantic model over data loaded here and turns the first
validation error into a :class:`~fivegbench.errors.PlanError` naming the key path
(``steps[2].sweep.tx_power``) and the line and column of the deepest node that exists.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from fivegbench.describe import describe
from fivegbench.errors import PlanError
from fivegbench.safetext import TEXT_WHITESPACE, control_character

log = logging.getLogger(__name__)

MAX_BYTES = 1_000_000
MAX_ALIASES = 100
MAX_DEPTH = 20
MAX_ALIAS_NODES = 10_000

PathElem = str | int
KeyPath = tuple[PathElem, ...]
Positions = dict[KeyPath, tuple[int, int]]

_TAG = "tag:yaml.org,2002:"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")
_PATH_TOKEN = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')

M = TypeVar("M", bound=BaseModel)


# --------------------------------------------------------------------------- key paths


def path_str(path: Sequence[PathElem]) -> str:
    """``("steps", 2, "sweep", "tx_power")`` -> ``steps[2].sweep.tx_power``."""
    out = ""
    for elem in path:
        if isinstance(elem, int):
            out += f"[{elem}]"
        elif _IDENT.match(elem):
            out += f".{elem}" if out else elem
        else:
            escaped = elem.replace("\\", "\\\\").replace('"', '\\"')
            out += f'["{escaped}"]'
    return out


def parse_path(text: str) -> KeyPath:
    """Inverse of :func:`path_str`. Raises ValueError for text that is not a key path."""
    out: list[PathElem] = []
    pos = 0
    while pos < len(text):
        m = _PATH_TOKEN.match(text, pos)
        if m is None or (m.group(0).startswith(".") and pos == 0):
            raise ValueError(f"{text!r} is not a key path")
        if m.group(1) is not None:
            out.append(m.group(1))
        elif m.group(2) is not None:
            out.append(int(m.group(2)))
        else:
            out.append(re.sub(r"\\(.)", r"\1", m.group(3)))
        pos = m.end()
    return tuple(out)


def where(positions: Positions, path: Sequence[PathElem]) -> tuple[int | None, int | None]:
    """Line and column of the deepest prefix of ``path`` that has a recorded position."""
    key = tuple(path)
    while True:
        if key in positions:
            return positions[key]
        if not key:
            return None, None
        key = key[:-1]


# --------------------------------------------------------------------------- loading


class _Refused(Exception):
    """A bound was exceeded; carries the mark and the message."""

    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer counts aliases and nesting as it goes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_count = 0
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self.alias_count += 1
            if self.alias_count > MAX_ALIASES:
                raise _Refused(event.start_mark, f"more than {MAX_ALIASES} YAML aliases")
            return super().compose_node(parent, index)
        nested = isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent)
        if nested:
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise _Refused(event.start_mark, f"nesting deeper than {MAX_DEPTH} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            if nested:
                self.depth -= 1


def _pos(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Plain data from a node tree, with positions; bounded against alias expansion."""

    def __init__(self, loader: _BoundedLoader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.positions: Positions = {}
        self.alias_nodes = 0
        self.active: set[int] = set()
        self.seen: set[int] = set()
        self.outside: list[yaml.Node] = []  # collections being built, not reached through an alias
        self.alias_start: KeyPath = ()

    def fail(self, node: yaml.Node, path: KeyPath, message: str) -> PlanError:
        line, col = _pos(node)
        return PlanError(self.file, line, col, path_str(path), message)

    def build(self, node: yaml.Node, path: KeyPath, depth: int, in_alias: bool) -> Any:
        # A node met twice is an alias target: everything under it counts against the bound.
        if not in_alias and id(node) in self.seen:
            in_alias = True
            self.alias_start = path
        self.seen.add(id(node))
        if in_alias:
            self.alias_nodes += 1
            if self.alias_nodes > MAX_ALIAS_NODES:
                # Point at the collection that uses the alias, not at the anchor it expands.
                message = f"YAML aliases expand to more than {MAX_ALIAS_NODES} values"
                raise self.fail(self.outside[-1] if self.outside else node, self.alias_start, message)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if depth + 1 > MAX_DEPTH:
            raise self.fail(node, path, f"nesting deeper than {MAX_DEPTH} levels")
        if id(node) in self.active:
            raise self.fail(node, path, "a YAML alias refers to the collection that contains it")
        self.active.add(id(node))
        if not in_alias:
            self.outside.append(node)
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != _TAG + "seq":
                    raise self.fail(node, path, f"unsupported YAML tag {node.tag!r}")
                out_list: list[Any] = []
                for i, item in enumerate(node.value):
                    self.positions.setdefault((*path, i), _pos(item))
                    out_list.append(self.build(item, (*path, i), depth + 1, in_alias))
                return out_list
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path, depth, in_alias)
            raise self.fail(node, path, "unsupported YAML node")  # pragma: no cover
        finally:
            self.active.discard(id(node))
            if not in_alias:
                self.outside.pop()

    def mapping(self, node: yaml.MappingNode, path: KeyPath, depth: int, in_alias: bool) -> dict[str, Any]:
        if node.tag != _TAG + "map":
            raise self.fail(node, path, f"unsupported YAML tag {node.tag!r}")
        out: dict[str, Any] = {}
        first: dict[str, yaml.Node] = {}
        merged: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merged.append(value_node)
                continue
            key = self.key(key_node, path)
            if key in first:
                line = first[key].start_mark.line + 1
                raise self.fail(key_node, (*path, key), f"duplicate key '{key}' (first at line {line})")
            first[key] = key_node
            self.positions.setdefault((*path, key), _pos(key_node))
            out[key] = self.build(value_node, (*path, key), depth + 1, in_alias)
        # YAML merge keys (<<: *base): explicit keys win over merged ones.
        for value_node in merged:
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    raise self.fail(source, path, "a YAML merge (<<) needs a mapping")
                built = self.build(source, path, depth, True)
                for key, value in built.items():
                    out.setdefault(key, value)
        return out

    def key(self, node: yaml.Node, path: KeyPath) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, path, "a mapping key must be text, not a list or mapping")
        if node.tag == _TAG + "str":
            found = control_character(str(node.value))
            if found:
                raise self.fail(node, path, f"a mapping key contains a control character ({found})")
            return str(node.value)
        if node.tag == _TAG + "bool":
            raise self.fail(node, path, f"key {node.value!r} is read as a true/false value; quote it")
        if node.tag == _TAG + "null":
            raise self.fail(node, path, "empty mapping key")
        raise self.fail(node, path, f"key {node.value!r} must be text, not a number; quote it")

    def scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        tag = node.tag
        if tag in (_TAG + "int", _TAG + "float") and node.style is None and ":" in node.value:
            return str(node.value)  # base-60 (YAML 1.1): keep "10:2:2" as text
        if tag == _TAG + "str" or tag == _TAG + "timestamp":
            found = control_character(str(node.value), allow=TEXT_WHITESPACE)
            if found:
                raise self.fail(node, path, f"contains a control character ({found})")
            return str(node.value)
        if tag == _TAG + "int":
            return self.loader.construct_yaml_int(node)
        if tag == _TAG + "float":
            return self.loader.construct_yaml_float(node)
        if tag == _TAG + "bool":
            return self.loader.construct_yaml_bool(node)
        if tag == _TAG + "null":
            return None
        raise self.fail(node, path, f"unsupported YAML tag {tag!r}")


def check_size(size: int, file: str) -> None:
    """Refuse a file larger than :data:`MAX_BYTES` (no line: the whole file is the problem)."""
    if size > MAX_BYTES:
        raise PlanError(file, None, None, "", f"file is larger than {MAX_BYTES // 1_000_000} MB")


def loads(text: str, file: str) -> tuple[Any, Positions]:
    """Parse YAML ``text`` (from ``file``, used in messages) into plain data and positions.

    Raises PlanError for syntax errors, exceeded bounds, duplicate or non-text keys.
    """
    check_size(len(text.encode("utf-8", "surrogatepass")), file)
    try:
        loader = _BoundedLoader(text)  # PyYAML's reader refuses control characters here
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, file) from None
    try:
        try:
            root = loader.get_single_node()
        except _Refused as exc:
            line, col = (exc.mark.line + 1, exc.mark.column + 1) if exc.mark else (None, None)
            raise PlanError(file, line, col, "", exc.message) from None
        except yaml.MarkedYAMLError as exc:
            raise _syntax_error(exc, file, text) from None
        except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error we know is marked
            raise PlanError(file, None, None, "", f"invalid YAML: {_one_line(str(exc))}") from None
        except RecursionError:  # pragma: no cover - the depth bound comes first
            raise PlanError(file, None, None, "", f"nesting deeper than {MAX_DEPTH} levels") from None
        if root is None:
            return None, {(): (1, 1)}
        builder = _Builder(loader, file)
        builder.positions[()] = _pos(root)
        data = builder.build(root, (), 0, False)
        return data, builder.positions
    finally:
        loader.dispose()


def read_text(path: Path) -> tuple[bytes, str]:
    """The bytes and UTF-8 text of a file of at most :data:`MAX_BYTES`. Raises PlanError."""
    file = str(path)
    try:
        # non-blocking: opening a FIFO (or a device) would otherwise wait forever for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise PlanError(
                    file,
                    None,
                    None,
                    "",
                    "not a regular file (a FIFO, device or folder cannot be read as YAML)",
                )
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise PlanError(file, None, None, "", f"cannot read: {exc.strerror or exc}") from None
    check_size(len(data), file)
    try:
        return data, data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PlanError(file, line, None, "", "not UTF-8 text") from None


def load_yaml(path: Path) -> tuple[Any, Positions]:
    """Read and parse a YAML file with the bounds above: ``(data, positions)``. Raises PlanError."""
    _, text = read_text(path)
    return loads(text, str(path))


def _one_line(text: str) -> str:
    return " ".join(text.split())


# Line breaks as PyYAML's marks count them (a lone CR, NEL and the Unicode separators too).
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def _reader_error(exc: yaml.reader.ReaderError, text: str, file: str) -> PlanError:
    """A character PyYAML's reader refuses (NUL, ESC, U+FFFE, ...) at its line and column."""
    position = exc.position
    if not isinstance(position, int) or not 0 <= position < len(text):  # pragma: no cover
        return PlanError(
            file, None, None, "", "invalid YAML: the file contains a character that is not allowed"
        )
    breaks = list(_LINE_BREAK.finditer(text, 0, position))
    line_start = breaks[-1].end() if breaks else 0
    line, column = len(breaks) + 1, position - line_start + 1
    found = control_character(text[line_start : position + 1], allow="\t")
    if found:
        return PlanError(
            file, line, column, "", f"invalid YAML: the line contains a control character ({found})"
        )
    return PlanError(
        file, line, column, "", f"invalid YAML: character U+{ord(text[position]):04X} is not allowed"
    )


_INDENT = "keys of one mapping, and items of one list, start in the same column"
# PyYAML's words for the usual slips -> what to change (the parser's own text for the rest)
_PLAIN_SYNTAX = (
    (
        "mapping values are not allowed here",
        f"unexpected ':' (check this line's indentation: {_INDENT}; or quote a value that contains ': ')",
    ),
    ("expected <block end>", f"this line is indented differently from the lines above ({_INDENT})"),
    ("could not find expected ':'", "a line without 'key: value' (add the ':' or check the indentation)"),
    ("did not find expected key", f"this line is indented differently from the keys above ({_INDENT})"),
    (
        "did not find expected '-' indicator",
        f"a list item is indented differently from the items above ({_INDENT})",
    ),
    ("found unexpected end of stream", "the file ends inside a quoted text or a [..] / {..}: close it"),
)


def _syntax_error(exc: yaml.MarkedYAMLError, file: str, text: str = "") -> PlanError:
    raw = _one_line(exc.problem or "syntax error")
    # a key without ':' is found only at the next line; the key itself is where scanning began
    mark = exc.problem_mark or exc.context_mark
    if "expected ':'" in raw and exc.context_mark:
        mark = exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
    problem = next((plain for words, plain in _PLAIN_SYNTAX if words in raw), None)
    if problem is None:
        problem = f"{raw} ({_one_line(exc.context)})" if exc.context else raw
    if "'\\t'" in problem:
        problem += "; indent with spaces, not tabs"
    lines = text.splitlines()
    if line is not None and 0 < line <= len(lines) and lines[line - 1].strip():
        shown = lines[line - 1].rstrip()
        shown = shown[:60] + "..." if len(shown) > 60 else shown
        return PlanError(file, line, col, "", f"invalid YAML in {shown!r}: {problem}")
    return PlanError(file, line, col, "", f"invalid YAML: {problem}")


# --------------------------------------------------------------------------- validation


def at(path: Sequence[PathElem] | PathElem, message: str) -> PydanticCustomError:
    """An error to raise from a validator that points below the value being validated.

    ``raise at(("sweep", "tx_power", 3), "...")`` from a validator of ``steps[0]`` is reported at
    ``steps[0].sweep.tx_power[3]``. The message is shown as given.
    """
    rel = tuple(path) if isinstance(path, list | tuple) else (path,)
    return PydanticCustomError("plan_error", "{message}", {"message": message, "at": rel})


@dataclass(frozen=True)
class WrittenAs:
    """``Annotated`` marker: how a field is written in the file, where that differs from the type
    it is parsed into (a sweep is written as a mapping, parsed into groups); read by
    :mod:`fivegbench.schema`."""

    type: str


def field_keys(model_cls: type[BaseModel]) -> list[str]:
    """The keys a model accepts in a file (aliases where set)."""
    return [f.alias or name for name, f in model_cls.model_fields.items()]


class StrictModel(BaseModel):
    """Base for file models: unknown keys are refused, naming the keys that are accepted.

    Subclasses may override :meth:`file_keys` (the accepted keys) or :meth:`prepare` (rewrite the
    input mapping before field validation, e.g. to parse keys that depend on another key).
    """

    # attribute docstrings become field descriptions: `fivegbench schema` shows them
    model_config = {"extra": "forbid", "frozen": True, "use_attribute_docstrings": True}

    @classmethod
    def file_keys(cls, data: dict[str, Any]) -> list[str]:
        return field_keys(cls)

    @classmethod
    def prepare(cls, data: dict[str, Any]) -> dict[str, Any]:
        known = cls.file_keys(data)
        for key in data:
            if key not in known:
                raise at(key, unknown_key(key, known))
        return data

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return cls.prepare(data)
        return data


def unknown_key(key: str, known: Sequence[str]) -> str:
    return f"unknown key '{key}' (expected one of: {', '.join(known)})"


def _message(err: dict[str, Any], expected: Sequence[str] = ()) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    loc: tuple[Any, ...] = tuple(err.get("loc") or ())
    if kind == "plan_error":
        return _one_line(str(ctx["message"]))  # a value quoted in it may hold a line break
    if kind == "value_error" and "error" in ctx:
        return _one_line(str(ctx["error"]))
    if kind == "missing":
        return f"missing required key '{loc[-1]}'" if loc else "missing required key"
    if kind == "extra_forbidden":
        return unknown_key(str(loc[-1]), expected) if expected else f"unknown key '{loc[-1]}'"
    if kind in ("dict_type", "model_type", "model_attributes_type", "dataclass_type"):
        return f"expected a mapping of keys to values, got {describe(value)}"
    if kind in ("list_type", "tuple_type", "sequence_type"):
        return f"expected a list, got {describe(value)}"
    if kind in ("string_type", "str_type"):
        return f"expected text, got {describe(value)}"
    if kind.startswith("int_") or kind == "int_type":
        return f"expected a whole number, got {describe(value)}"
    if kind.startswith("float_"):
        return f"expected a number, got {describe(value)}"
    if kind.startswith("bool_"):
        return f"expected true or false, got {describe(value)}"
    if kind == "literal_error":
        return f"{describe(value)} is not allowed (expected {ctx.get('expected', '?')})"
    if kind == "too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    msg = str(err.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return _one_line(msg)


def _has(node: Any, elem: Any) -> bool:
    if isinstance(node, dict):
        return isinstance(elem, str) and elem in node
    if isinstance(node, list):
        return isinstance(elem, int) and 0 <= elem < len(node)
    return False


def _error_path(data: Any, loc: Sequence[Any], kind: str) -> KeyPath:
    """The loc restricted to elements that navigate the data (drops union and validator tags)."""
    out: list[PathElem] = []
    node = data
    for i, elem in enumerate(loc):
        last = i == len(loc) - 1
        if _has(node, elem):
            out.append(elem)
            node = node[elem]
        elif last and kind in ("missing", "extra_forbidden") and isinstance(elem, str | int):
            out.append(elem)
    return tuple(out)


def _model_at(model_cls: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    """The model class that validates the value at ``loc`` (best effort, for "expected one of")."""
    current: Any = model_cls
    for elem in loc:
        candidates = [current]
        found: Any = None
        while candidates and found is None:
            tp = candidates.pop(0)
            origin = typing.get_origin(tp)
            if origin is typing.Annotated:
                candidates.append(typing.get_args(tp)[0])
            elif origin in (typing.Union, types.UnionType):
                candidates.extend(typing.get_args(tp))
            elif isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(elem, str):
                field = tp.model_fields.get(elem)
                if field is None:
                    field = next((f for f in tp.model_fields.values() if f.alias == elem), None)
                found = field.annotation if field is not None else None
            elif origin in (list, tuple, Sequence) and isinstance(elem, int):
                found = typing.get_args(tp)[0] if typing.get_args(tp) else None
            elif origin is dict and isinstance(elem, str):
                found = typing.get_args(tp)[1] if typing.get_args(tp) else None
        if found is not None:
            current = found
    candidates = [current]
    while candidates:
        tp = candidates.pop(0)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return tp
        if typing.get_origin(tp) in (typing.Annotated, typing.Union, types.UnionType):
            args = typing.get_args(tp)
            candidates.extend(args[:1] if typing.get_origin(tp) is typing.Annotated else args)
    return None


def to_plan_error(
    exc: ValidationError, data: Any, positions: Positions, file: str, model_cls: type[BaseModel] | None = None
) -> PlanError:
    """The first error of a pydantic ValidationError as a one-line PlanError."""
    errors = exc.errors(include_url=False)
    err: dict[str, Any] = dict(errors[0])
    if err["type"] == "missing":
        # A misspelt key shows up as "missing x" and "unknown y" in the same mapping: say "unknown y".
        parent = tuple(err["loc"][:-1])
        for other in errors[1:]:
            if other["type"] == "extra_forbidden" and tuple(other["loc"][:-1]) == parent:
                err = dict(other)
                break
    loc: tuple[Any, ...] = tuple(err.get("loc", ()))
    kind = str(err["type"])
    path = _error_path(data, loc, kind)
    ctx: dict[str, Any] = err.get("ctx") or {}
    if kind == "plan_error":
        path = (*path, *ctx.get("at", ()))
    expected: list[str] = []
    if kind == "extra_forbidden" and model_cls is not None and loc:
        owner = _model_at(model_cls, loc[:-1])
        if owner is not None:
            expected = field_keys(owner)
    line, col = where(positions, path)
    return PlanError(file, line, col, path_str(path), _message(err, expected))


def validate(model_cls: type[M], data: Any, positions: Positions, file: str) -> M:
    """Validate ``data`` (from :func:`loads`) as ``model_cls``; raise PlanError on the first error.

    Validators can read ``info.context["positions"]`` and ``info.context["file"]`` (for messages
    such as "first at line 12") and raise :func:`at` to point below the value they validate.
    """
    try:
        return model_cls.model_validate(data, context={"positions": positions, "file": file})
    except ValidationError as exc:
        raise to_plan_error(exc, data, positions, file, model_cls) from None
