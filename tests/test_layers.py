"""The layers stay pure: only `norm_viz/ui/` (and the developer tools in `norm_viz/tools/`) import streamlit, and
the compute module pulls in neither streamlit nor plotly when imported on its own."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "norm_viz"


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_ui_and_tools_import_streamlit():
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in ("ui", "tools") and "streamlit" in imported_roots(path)
    ]
    assert offenders == []


def test_the_package_root_holds_no_developer_tools():
    # Benchmarks and load drivers live in norm_viz/tools/, so the root shows the app's architecture.
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py"]
    assert {"bench.py", "bench_browser.py", "loadtest.py", "worstcase.py"} <= {
        p.name for p in (PACKAGE / "tools").glob("*.py")
    }


def test_the_compute_module_imports_neither_streamlit_nor_plotly():
    code = (
        "import sys, norm_viz.core.compute, norm_viz.core.table\n"
        "print(sorted(m for m in ('streamlit', 'plotly') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
