"""The house stays as built: import-linter's contracts in pyproject.toml (gui -> core -> models; core and models never
import Qt; models imports only torch; no sibling cycles), and no import cycle between any two modules."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import ROOT

LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint(cwd: Path, config: Path | None = None) -> subprocess.CompletedProcess:
    args = [LINT_IMPORTS, "--no-cache"] + (["--config", str(config)] if config else [])
    return subprocess.run(args, cwd=str(cwd), capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"})


def test_the_import_contracts_hold():
    r = lint(ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "Contracts: 5 kept, 0 broken." in r.stdout


def test_the_contracts_catch_a_broken_layer(tmp_path):
    """The same contracts on a small tree that breaks them: core imports Qt and gui, models imports core."""
    for pkg, body in {"core": "import PySide6.QtCore\nfrom gui import view\n", "gui": "from core import a\n",
                      "models": "from core import a\n"}.items():
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("")
        (tmp_path / pkg / ("a.py" if pkg == "core" else "view.py" if pkg == "gui" else "m.py")).write_text(body)
    cfg = tmp_path / "pyproject.toml"
    text = (ROOT / "pyproject.toml").read_text()
    cfg.write_text(text[text.index("[tool.importlinter]"):])
    fake_qt = tmp_path / "PySide6"
    fake_qt.mkdir()
    (fake_qt / "__init__.py").write_text("")
    (fake_qt / "QtCore.py").write_text("")
    r = lint(tmp_path, cfg)
    assert r.returncode != 0
    summary = {line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1] for line in r.stdout.splitlines()
               if line.endswith((" KEPT", " BROKEN"))}
    broken = {name for name, verdict in summary.items() if verdict == "BROKEN"}
    assert {"Layers: gui -> core -> models (a lower layer never imports a higher one)",
            "core and models never import Qt", "models imports only torch"} <= broken, r.stdout[-2000:]
    assert "No import cycles between sibling modules of a package" not in broken


def test_no_two_modules_import_each_other():
    """Module level, function-level imports included (grimp, import-linter's graph): no module reaches a module that
    reaches it back (the issue's onnxpose <-> int8 and core.remote <-> client), and nothing imports main.py."""
    import grimp

    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph("core", "gui", "models", include_external_packages=False)
    cycles = set()
    for a in sorted(graph.modules):
        for b in graph.find_modules_directly_imported_by(a):
            if graph.chain_exists(importer=b, imported=a):
                cycles.add(tuple(sorted((a, b))))
    assert not cycles, "\n".join(f"{a} <-> {b}" for a, b in sorted(cycles))
    importers = [f for f in ROOT.glob("*/**/*.py") if f.parts[len(ROOT.parts)] in ("core", "gui", "models")
                 and any(line.strip().startswith(("import main", "from main ")) for line in f.read_text().splitlines())]
    assert not importers


def test_the_cycle_check_finds_a_cycle(tmp_path):
    import grimp

    pkg = tmp_path / "loopy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(textwrap.dedent("""
        def f():
            from . import b  # a function-level import counts
    """))
    (pkg / "b.py").write_text("from . import a\n")
    sys.path.insert(0, str(tmp_path))
    try:
        graph = grimp.build_graph("loopy")
        assert graph.chain_exists(importer="loopy.a", imported="loopy.b")
        assert graph.chain_exists(importer="loopy.b", imported="loopy.a")
    finally:
        sys.path.remove(str(tmp_path))
