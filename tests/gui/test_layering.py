"""Layering rules: ``core/`` and ``models/`` never import Qt; ``gui/`` runs no inference itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QT_MODULES = ("PySide6", "PySide2", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6", "shiboken2", "qtpy", "sip")
# gui/ delegates inference, decoding formats and model files to core/
GUI_FORBIDDEN = ("torch", "ultralytics", "mediapipe", "onnxruntime", "models")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            out.append((node.lineno, str(node.args[0].value)))
    return out


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    bad = []
    for f in files:
        for line, mod in imported_modules(f):
            if mod.split(".")[0] in forbidden:
                bad.append(f"{f.relative_to(ROOT)}:{line} imports {mod}")
    return bad


@pytest.mark.parametrize("package", ["core", "models"])
def test_core_and_models_never_import_qt(package):
    assert offenders(package, QT_MODULES) == []


def test_gui_delegates_inference_to_core():
    assert offenders("gui", GUI_FORBIDDEN) == []


def test_the_checker_finds_imports(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("import os\nfrom PySide6.QtCore import Qt\ndef f():\n    import pyqtgraph as pg\n"
                 "    importlib.import_module('shiboken6')\n")
    assert [m for _, m in imported_modules(f)] == ["os", "PySide6.QtCore", "pyqtgraph", "shiboken6"]
