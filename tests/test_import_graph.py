"""Imports go one way (DESIGN.md): inside an app tasks import services, never the reverse;
between apps, each imports only the apps to its left.

Every module of every app is parsed with `ast`, imports at module level and inside functions
alike (a function-level import hides a cycle from Python but not from the reader), and the
modules of one app must form no cycle. Not counted: imports under `if TYPE_CHECKING:` (never
run), and a module's own package `__init__` reached through `from package import module`
(Python imports the package first anyway; the edge that matters is the one to the module).
Enqueueing by task name (`queueing.py`, `import_module`) is not an import, on purpose.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("api", "capture", "scoring", "nurture", "sales", "segments", "webhooks", "integrations")
# The apps' order (DESIGN.md): each imports only apps to its left and leadfunnel's shared
# modules. webhooks and integrations are peers at the end; neither imports the other.
APP_ORDER = {
    "api": 0,
    "capture": 1,
    "scoring": 2,
    "nurture": 3,
    "sales": 4,
    "segments": 5,
    "webhooks": 6,
    "integrations": 6,
}
# leadfunnel is the project (these modules assemble every app) and, for the rest, rules every
# app shares (zones, announcing, enqueueing, the outbound client), which import no app.
PROJECT_MODULES = {
    "leadfunnel.settings",
    "leadfunnel.urls",
    "leadfunnel.celery",
    "leadfunnel.wsgi",
    "leadfunnel.asgi",
    "leadfunnel.middleware",
}


def app_modules(root: Path, app: str) -> dict[str, Path]:
    modules = {}
    for path in sorted((root / app).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, in functions too, except under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (child for branch in node.orelse for child in _imports_in(branch))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports(node)


def _imports_in(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    yield from _imports(node)


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The app module that `name` (a module or a name inside one) lives in, if any."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(root: Path, app: str) -> dict[str, set[str]]:
    """module → the modules of the same app it imports."""
    modules = app_modules(root, app)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                # `from package import module` imports the module; anything else, the base.
                names = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            for name in names:
                owner = _owner(name, modules)
                if owner is not None and owner != module:
                    targets.add(owner)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def _describe(graph: dict[str, set[str]], component: list[str]) -> str:
    members = set(component)
    return "; ".join(
        f"{module} → {', '.join(sorted(graph[module] & members))}" for module in component
    )


@pytest.mark.parametrize("app", APPS)
def test_it_finds_no_import_cycle_inside_an_app(app: str) -> None:
    graph = import_graph(ROOT, app)
    assert graph, f"no modules found for {app}"
    found = cycles(graph)
    assert not found, f"import cycles in {app}: " + " | ".join(
        _describe(graph, component) for component in found
    )


def _app(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "shop" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_it_sees_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    root = _app(
        tmp_path,
        {
            "__init__.py": "",
            "tasks.py": "from shop import services\n",
            "services.py": "def run():\n    from shop.tasks import send\n    send()\n",
        },
    )
    assert cycles(import_graph(root, "shop")) == [["shop.services", "shop.tasks"]]


def test_it_resolves_relative_imports_and_packages(tmp_path: Path) -> None:
    root = _app(
        tmp_path,
        {
            "__init__.py": "",
            "models.py": "from shop.engine import check\n",
            "engine/__init__.py": "from .rules import check\n",
            "engine/rules.py": "from ..models import Order\n",
        },
    )
    assert cycles(import_graph(root, "shop")) == [
        ["shop.engine", "shop.engine.rules", "shop.models"]
    ]


def test_it_ignores_type_checking_imports_and_the_own_package(tmp_path: Path) -> None:
    root = _app(
        tmp_path,
        {
            "__init__.py": "",
            "models.py": "from shop.engine import check\n",
            "engine/__init__.py": "from shop.engine.rules import check\n",
            "engine/rules.py": (
                "from typing import TYPE_CHECKING\n"
                "from shop.engine import conditions\n"
                "if TYPE_CHECKING:\n    from shop.models import Order\n"
            ),
            "engine/conditions.py": "",
        },
    )
    assert cycles(import_graph(root, "shop")) == []


def imported_apps(root: Path, package: str) -> dict[str, set[str]]:
    """module of `package` → the other top-level packages among APPS and leadfunnel it
    imports (absolute imports; module level and in functions alike)."""
    known = {*APPS, "leadfunnel"}
    found: dict[str, set[str]] = {}
    for module, path in app_modules(root, package).items():
        names: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif node.module and not node.level:
                names.add(node.module)
        found[module] = {name.split(".")[0] for name in names} & known - {package}
    return found


@pytest.mark.parametrize("app", APPS)
def test_an_app_imports_only_apps_to_its_left(app: str) -> None:
    against = {
        module: sorted(
            target
            for target in targets
            if target != "leadfunnel" and APP_ORDER[target] >= APP_ORDER[app]
        )
        for module, targets in imported_apps(ROOT, app).items()
    }
    assert not {module: targets for module, targets in against.items() if targets}


def test_leadfunnels_shared_modules_import_no_app() -> None:
    against = {
        module: sorted(targets)
        for module, targets in imported_apps(ROOT, "leadfunnel").items()
        if targets and module not in PROJECT_MODULES
    }
    assert not against


def test_the_order_check_sees_an_import_against_it(tmp_path: Path) -> None:
    (tmp_path / "capture").mkdir()
    (tmp_path / "capture" / "views.py").write_text(
        "def page():\n    from sales.models import Booking\n", encoding="utf-8"
    )
    assert imported_apps(tmp_path, "capture") == {"capture.views": {"sales"}}
