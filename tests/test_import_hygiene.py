"""Layering, proved in fresh interpreters: the headless path never loads
textual, and the app paints its first frame without torch."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_headless_path_never_imports_textual():
    """cli, headless and the engine import no textual (the CLI must start fast and work without a TTY)."""
    result = _run("""
        import sys
        import naswot_tui.cli, naswot_tui.headless, naswot_tui.core.engine, naswot_tui.core.comparison
        import naswot_tui.commands.compare
        bad = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
        assert not bad, bad
    """)
    assert result.returncode == 0, result.stderr


def test_app_module_and_first_frame_never_import_torch(tmp_path):
    """Importing the app and painting the setup, runs and live screens loads no torch."""
    result = _run(f"""
        import asyncio, sys
        from pathlib import Path
        import naswot_tui.tui.app as app_module
        assert "torch" not in sys.modules, "import"
        from naswot_tui.tui.settings import Settings

        async def main():
            app = app_module.make_app(Settings(runs_dir=Path({str(tmp_path / 'runs')!r}),
                                               config_dir=Path({str(tmp_path / 'cfg')!r}),
                                               device_probe=lambda: [("cpu", "CPU")]))
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.pause()
                for key in ("f3", "f4", "f1"):
                    await pilot.press(key)
                await app.workers.wait_for_complete()
                await pilot.pause()
            assert "torch" not in sys.modules, "first frame"

        asyncio.run(main())
    """)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- static: no torch at import time in the TUI
# import-linter sees imports inside functions too, so it cannot express "the TUI imports
# torch only inside workers". This check walks the import statements that run when a
# module is imported (module and class bodies, not function bodies, not TYPE_CHECKING
# blocks) and follows them through naswot_tui's own modules.

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _import_time_imports(tree: ast.Module, module: str, is_package: bool) -> set[str]:
    """Absolute names imported when ``module`` is imported (``from X import y`` gives X and X.y)."""
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue  # runs only when called
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = module.split(".")
                    anchor = parts if is_package else parts[:-1]
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            for child in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, child, None)
                if isinstance(inner, list) and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    visit([n for n in inner if isinstance(n, ast.stmt)] +
                          [s for h in inner if isinstance(h, ast.ExceptHandler) for s in h.body])

    visit(tree.body)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_files(root: Path, package: str) -> dict[str, Path]:
    files = {}
    for path in (root / package).rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        files[".".join(parts)] = path
    return files


def torch_chains(root: Path, package: str, start_prefix: str) -> dict[str, list[str]]:
    """For each module under ``start_prefix`` that loads torch on import, the import chain to it."""
    files = _module_files(root, package)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        names = _import_time_imports(ast.parse(path.read_text(encoding="utf-8")), name, path.name == "__init__.py")
        edges = set()
        for imported in names:
            if imported == "torch" or imported.startswith("torch."):
                edges.add("torch")
            parts = imported.split(".")
            # importing a.b.c runs a/__init__, a/b/__init__ and a/b/c
            edges.update(".".join(parts[:k]) for k in range(1, len(parts) + 1) if ".".join(parts[:k]) in files)
        edges.update(".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1))  # own parents
        graph[name] = edges - {name}
    chains = {}
    for start in sorted(n for n in files if n == start_prefix or n.startswith(start_prefix + ".")):
        seen, queue = {start: [start]}, [start]
        while queue:
            current = queue.pop(0)
            if current == "torch":
                chains[start] = seen[current]
                break
            for nxt in sorted(graph.get(current, ())):
                if nxt not in seen:
                    seen[nxt] = seen[current] + [nxt]
                    queue.append(nxt)
    return chains


def test_no_tui_module_imports_torch_at_import_time():
    """No module under naswot_tui/tui loads torch when imported, directly or through naswot_tui modules."""
    chains = torch_chains(PACKAGE_ROOT, "naswot_tui", "naswot_tui.tui")
    assert chains == {}, "torch at import time (import it inside the worker instead): " + "; ".join(
        " -> ".join(chain) for chain in chains.values())


def test_the_static_torch_check_finds_direct_indirect_and_skips_lazy_imports(tmp_path):
    """The checker flags a module-level import of torch, one reached through another module, and
    one in a class body; it ignores imports inside functions and under TYPE_CHECKING."""
    pkg = tmp_path / "pkg"
    (pkg / "ui").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "heavy.py").write_text("import torch.nn as nn\n")
    (pkg / "light.py").write_text("def f():\n    import torch\n")
    (pkg / "ui" / "__init__.py").write_text("")
    (pkg / "ui" / "direct.py").write_text("try:\n    import torch\nexcept ImportError:\n    pass\n")
    (pkg / "ui" / "indirect.py").write_text("from pkg import heavy\n")
    (pkg / "ui" / "relative.py").write_text("from ..heavy import nn\n")
    (pkg / "ui" / "in_class.py").write_text("class A:\n    import torch\n")
    (pkg / "ui" / "lazy.py").write_text("from pkg import light\n\ndef run():\n    import torch\n")
    (pkg / "ui" / "typing_only.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\n")
    chains = torch_chains(tmp_path, "pkg", "pkg.ui")
    assert sorted(chains) == ["pkg.ui.direct", "pkg.ui.in_class", "pkg.ui.indirect", "pkg.ui.relative"]
    assert chains["pkg.ui.indirect"] == ["pkg.ui.indirect", "pkg.heavy", "torch"]
