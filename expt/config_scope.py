"""Config scopes: a function body turned into a config dict.

The body is compiled once, as module-level code with the lines of the user's file (so an error
reports the right line), and executed with a namespace in which *fixed* values (``with`` updates,
named configs) win over the body's own assignments while later lines see them::

    @ex.config
    def cfg():
        a = 1      # the first value
        b = a * 2  # with a=3 -> b == 6

Comments on or directly above an assignment become the entry's documentation.
"""
from __future__ import annotations

import ast
import linecache
import textwrap
import types
from typing import Any, Callable, Mapping, NamedTuple

from . import dotted
from .errors import ConfigError

_MISSING = object()


class ScopeResult(NamedTuple):
    """What running a scope produced: the config and the defaults that fixed values replaced."""

    config: dict
    overridden: dict[str, Any]  # dotted path -> the scope's value


def _pin(path: str, value: Any, fixed: Any, overridden: dict[str, Any]) -> Any:
    """The value to store at `path` when the scope assigns `value` there: fixed values win.

    The scope's own values that lose are recorded in `overridden` (dotted path -> value).
    """
    if fixed is _MISSING or (isinstance(value, _Pinned) and value._fixed is fixed):
        return value  # not fixed, or stored again (`opt |= {...}`): nothing of the scope's lost
    if isinstance(fixed, dict) and fixed and isinstance(value, dict):
        for sub, _ in dotted.leaves(fixed):
            old = dotted.get(value, sub, _MISSING)
            if old is not _MISSING:
                overridden[f"{path}.{sub}"] = old
        return _Pinned.wrap(dotted.deep_update(dotted.deep_copy(value), fixed), fixed,
                            overridden, path)
    overridden[path] = value
    return _Pinned.wrap(dotted.deep_copy(fixed), fixed, overridden, path)


class _Pinned(dict):
    """A dict holding fixed values: ``opt["lr"] = 0.1`` in a scope keeps a fixed ``opt.lr``.

    Only lives while a scope runs; :meth:`_Namespace.entries` returns plain dicts.
    """

    @classmethod
    def wrap(cls, value: Any, fixed: Any, overridden: dict[str, Any], path: str) -> Any:
        if not (isinstance(value, dict) and isinstance(fixed, dict) and fixed):
            return value
        pinned = cls(value)
        pinned._fixed, pinned._overridden, pinned._path = fixed, overridden, path
        for key, sub in fixed.items():
            if key in pinned:
                dict.__setitem__(pinned, key, cls.wrap(pinned[key], sub, overridden,
                                                       f"{path}.{key}"))
        return pinned

    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, _pin(f"{self._path}.{key}", value,
                                         self._fixed.get(key, _MISSING), self._overridden))

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def __ior__(self, other: Mapping) -> "_Pinned":
        self.update(other)
        return self


class _Namespace(dict):
    """Globals and locals of a running scope: assignments to fixed keys keep the fixed value.

    The scope runs with this one dict as its globals *and* locals, so comprehensions, lambdas
    and nested functions see the scope's entries (with separate dicts they would not, as in
    Sacred). `owned` tracks which names are the scope's, in order, apart from the module's.
    """

    def __init__(self, fixed: Mapping, preset: Mapping, module_globals: Mapping | None = None):
        super().__init__(module_globals or {})
        self.owned: dict[str, None] = {}
        for key, value in dotted.deep_copy(dict(preset)).items():
            dict.__setitem__(self, key, value)
            self.owned[key] = None
        self.fixed = fixed
        self.overridden: dict[str, Any] = {}
        for key, value in fixed.items():
            current = dict.get(self, key, _MISSING) if key in self.owned else _MISSING
            if isinstance(value, dict) and isinstance(current, dict):
                current = dotted.deep_update(current, value)
            else:
                current = dotted.deep_copy(value)
            dict.__setitem__(self, key, _Pinned.wrap(current, value, self.overridden, key))
            self.owned[key] = None

    def entries(self) -> dict:
        """The scope's own names and values, in definition order, as plain dicts and lists."""
        return {k: dotted.deep_copy(dict.__getitem__(self, k)) for k in self.owned if k in self}

    def __delitem__(self, key: str) -> None:
        dict.__delitem__(self, key)
        self.owned.pop(key, None)

    def __setitem__(self, key: str, value: Any) -> None:
        fixed = self.fixed.get(key, _MISSING)
        if fixed is _MISSING:
            dict.__setitem__(self, key, value)
            if key not in self.owned:
                self.owned[key] = None
            return
        value = _pin(key, value, fixed, self.overridden)
        self.owned.pop(key, None)  # keep the entry where the scope defines it, not first
        self.owned[key] = None
        dict.__setitem__(self, key, value)


def is_config_entry(name: str, value: Any) -> bool:
    """Whether a local of a scope belongs in the config (not private, not code or a module)."""
    if name.startswith("_"):
        return False
    return not isinstance(value, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
                                  types.MethodType, type))


class ConfigDict:
    """A plain dict (or the contents of a config file) used like a scope."""

    def __init__(self, values: Mapping, *, origin: str = "dict"):
        self.values = dotted.deep_copy(dict(values))
        self.origin = origin
        self.docs: dict[str, str] = {}
        self.doc = ""

    def __call__(self, fixed: Mapping | None = None, preset: Mapping | None = None) -> ScopeResult:
        ns = _Namespace(fixed or {}, preset or {})
        for key, value in self.values.items():
            ns[key] = dotted.deep_copy(value)
        return ScopeResult(ns.entries(), ns.overridden)


class ConfigScope:
    """A decorated function whose body defines config entries."""

    def __init__(self, func: Callable):
        self.func = func
        self.__name__ = getattr(func, "__name__", "config")
        self.__doc__ = func.__doc__
        self.doc = _cleandoc(func.__doc__)
        self._code, self.docs = _compile_body(func)

    def __call__(self, fixed: Mapping | None = None, preset: Mapping | None = None) -> ScopeResult:
        """Run the body; `fixed` values win, `preset` values are visible and may be replaced."""
        ns = _Namespace(fixed or {}, preset or {}, _globals_of(self.func))
        exec(self._code, ns)
        config = {k: v for k, v in ns.entries().items() if is_config_entry(k, v)}
        return ScopeResult(config, ns.overridden)


def _globals_of(func: Callable) -> dict:
    """The function's globals, plus the variables it closes over (scopes defined in functions)."""
    if not func.__closure__:
        return func.__globals__
    scope = dict(func.__globals__)
    for name, cell in zip(func.__code__.co_freevars, func.__closure__):
        try:
            scope[name] = cell.cell_contents
        except ValueError:  # an empty cell: the variable was never assigned
            pass
    return scope


def _compile_body(func: Callable) -> tuple[types.CodeType, dict[str, str]]:
    """The function body as module code with the file's line numbers, and the entries' docs."""
    filename = func.__code__.co_filename
    lines, first_line = _source_lines(func)
    source = textwrap.dedent("".join(lines))
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    if tree is None or not _is_def_of(tree, func):
        lines, first_line = _inspect_source_lines(func)
        source = textwrap.dedent("".join(lines))
        tree = ast.parse(source)
    funcdef = tree.body[0]
    body = list(funcdef.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None),
                                                             ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring is the scope's doc, not code
    docs = _docs_from_comments(body, source.splitlines())
    module = ast.Module(body=body, type_ignores=[])
    ast.increment_lineno(module, first_line - 1)
    return compile(module, filename, "exec"), docs


def _is_def_of(tree: ast.Module, func: Callable) -> bool:
    return bool(tree.body) and isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)) \
        and tree.body[0].name == func.__name__


def _source_lines(func: Callable) -> tuple[list[str], int]:
    """Fast path: the def's lines by indentation, straight from linecache (no tokenizer)."""
    code = func.__code__
    all_lines = linecache.getlines(code.co_filename, func.__globals__)
    start = code.co_firstlineno - 1
    if not all_lines or start >= len(all_lines):
        return _inspect_source_lines(func)
    i = start
    while i < len(all_lines) and all_lines[i].lstrip().startswith("@"):
        i += 1  # decorators
    if i >= len(all_lines):
        return _inspect_source_lines(func)
    def_indent = _indent(all_lines[i])
    end = i + 1
    for j in range(i + 1, len(all_lines)):
        text = all_lines[j]
        stripped = text.strip()
        if stripped and not stripped.startswith("#") and _indent(text) <= def_indent:
            break
        end = j + 1
    return all_lines[start:end], start + 1


def _cleandoc(doc: str | None) -> str:
    """A docstring without its indentation (what inspect.getdoc gives, without inspect)."""
    if not doc:
        return ""
    first, _, rest = doc.expandtabs().partition("\n")
    return (first.strip() + "\n" + textwrap.dedent(rest)).strip()


def _inspect_source_lines(func: Callable) -> tuple[list[str], int]:
    import inspect  # only for sources the fast path cannot read

    try:
        return inspect.getsourcelines(func)
    except (OSError, TypeError) as exc:
        raise ConfigError(
            f"Cannot read the source of config scope '{func.__name__}' ({exc}). Config scopes "
            "must be defined in a file or notebook cell; use ex.add_config({...}) otherwise."
        ) from None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _docs_from_comments(body: list[ast.stmt], lines: list[str]) -> dict[str, str]:
    """Docs of assigned names: the comment ending the assignment, else the comments above it."""
    docs: dict[str, str] = {}
    for stmt in body:
        if isinstance(stmt, ast.Assign):
            targets = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
        elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) and isinstance(stmt.target,
                                                                              ast.Name):
            targets = [stmt.target.id]
        else:
            continue
        if not targets:
            continue
        end_line = lines[stmt.end_lineno - 1]
        trailing = end_line[stmt.end_col_offset:].strip()
        doc = trailing[1:].strip() if trailing.startswith("#") else ""
        if not doc:
            above = []
            k = stmt.lineno - 2
            while k >= 0 and lines[k].strip().startswith("#"):
                above.append(lines[k].strip()[1:].strip())
                k -= 1
            doc = " ".join(reversed(above))
        if doc:
            for name in targets:
                docs[name] = doc
    return docs
