"""The shape of the package, checked: no import circles, no private names used
across modules, no getattr probing, gspread and yagmail each in one module, and a
pure validation core (no files, network, clock or backend in sheets_sync/validate).

Built on the standard library's ast, so it needs nothing installed and reads the
source as written (function-level imports count too)."""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "sheets_sync"
ROOTS = [PKG.parent / "jobs.py"]


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(current: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".")
    if not is_pkg:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(name: str, path: Path):
    """(imported module, imported names) pairs of one module, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, [], node
        elif isinstance(node, ast.ImportFrom):
            mod = _resolve(name, is_pkg, node)
            for a in node.names:
                sub = f"{mod}.{a.name}"
                if sub in MODULES:
                    yield sub, [], node
                else:
                    yield mod, [a.name], node


def _graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        graph[name] = {m for m, _, _ in _imports(name, path) if m in MODULES and m != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def _parents(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def test_no_import_circles():
    graph = _graph()
    # a package's __init__ importing from its own submodules is how a package shows
    # its public face; a submodule importing its parent __init__ back would be a circle
    assert _cycles(graph) == []


def test_no_private_names_across_modules():
    bad = []
    for name, path in MODULES.items():
        for mod, names, node in _imports(name, path):
            for n in names:
                if n.startswith("_") and mod.startswith("sheets_sync"):
                    bad.append(f"{name}: from {mod} import {n}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                   for a in node.names if f"{_resolve(name, path.name == '__init__.py', node)}.{a.name}" in MODULES}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id in aliases):
                bad.append(f"{name}: {node.value.id}.{node.attr}")
    assert not bad, "\n".join(bad)


def test_no_private_attributes_of_other_objects_assigned():
    """Replacing another object's private method (store._save_cache = lambda ...) hides a
    missing public operation; the protocol gets a public one instead."""
    # logsafe marks the standard library's LogRecord and wraps smtplib's debug printer:
    # objects from outside the package, which offer no public hook for it.
    allowed = {"sheets_sync.logsafe"}
    bad = []
    for name, path in MODULES.items():
        if name in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    if (isinstance(t, ast.Attribute) and t.attr.startswith("_") and not t.attr.startswith("__")
                            and not (isinstance(t.value, ast.Name) and t.value.id in ("self", "cls"))):
                        bad.append(f"{name}:{node.lineno}: {ast.unparse(t)} = ...")
    assert not bad, "\n".join(bad)


def test_no_getattr_probing():
    """getattr with a default on attributes that always exist hides the protocol; the
    few legitimate uses (objects from outside the package) are listed here."""
    allowed = {
        ("sheets_sync.cycle.run", "__name__"),          # a hook may be any callable (a partial has no name)
        ("sheets_sync.logsafe", "_masked"),             # the standard library's LogRecord
        ("sheets_sync.logsafe", "_sheets_sync"),        # smtplib's debug printer, wrapped once
        ("sheets_sync.ops.selfcheck", "geteuid"),       # os.geteuid exists on POSIX only
        ("sheets_sync.provision.google", "response"),   # requests' exceptions may carry no response
        ("sheets_sync.provision.google", "status_code"),
        ("sheets_sync.stores.google", "item"),          # numpy scalars from pandas
        ("sheets_sync.stores.google", "code"),          # gspread's APIError, across its versions
        ("sheets_sync.stores.xlsx", "reset_dimensions"),  # openpyxl: read-only worksheets only
        ("sheets_sync.validate.frame", "raw"),          # a fast-path kernel may take raw values
    }
    bad = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("getattr", "hasattr")):
                attr = node.args[1].value if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) else "?"
                if (name, attr) not in allowed:
                    bad.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    assert not bad, "\n".join(bad)


def test_one_module_per_outside_library():
    owners = {"gspread": {"sheets_sync.stores.google"}, "yagmail": {"sheets_sync.mail"},
              "requests": {"sheets_sync.stores.google_http"},
              "google_auth_oauthlib": {"sheets_sync.ops.auth"}}
    bad = []
    for name, path in MODULES.items():
        for mod, _, _ in _imports(name, path):
            top = mod.split(".")[0]
            if top in owners and name not in owners[top]:
                bad.append(f"{name} imports {mod}")
    assert not bad, "\n".join(bad)


def test_validation_core_is_pure():
    """sheets_sync/validate: no files, network, clock, stores or state."""
    forbidden = {"os", "pathlib", "socket", "requests", "gspread", "openpyxl", "sqlite3", "smtplib",
                 "yagmail", "time", "sheets_sync.stores", "sheets_sync.cycle", "sheets_sync.master",
                 "sheets_sync.mail", "sheets_sync.remind", "sheets_sync.provision", "sheets_sync.ops"}
    bad = []
    for name, path in MODULES.items():
        if not name.startswith("sheets_sync.validate"):
            continue
        for mod, _, _ in _imports(name, path):
            if any(mod == f or mod.startswith(f + ".") for f in forbidden):
                bad.append(f"{name} imports {mod}")
        src = path.read_text(encoding="utf-8")
        for call in ("open(", ".now(", "today()", "read_text(", "load_forms("):
            if call in src:
                bad.append(f"{name} calls {call}")
    assert not bad, "\n".join(bad)


def test_the_architecture_page_names_every_folder():
    page = (PKG.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    folders = sorted(p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    assert [f for f in folders if f"{f}/" not in page] == []
