"""The package's layout shows its design: each module sits in one layer of the data's one-way
flow (read -> validate -> build -> solve -> results -> report, the CLI on top), imports only
from layers below it (no cycle, no upward import), and Pyomo is imported only where its back
end is used."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import REPO

#: Each module's layer, lowest first: a module imports only from lower layers.
LAYERS = {
    "errors": 0, "schema": 0, "words": 0, "formats": 0, "files": 0, "forks": 0, "lp": 0, "version": 0,
    "bounds": 1, "read": 1, "reopen": 1,
    "validate": 2,
    "edits": 3, "families": 3,
    "build": 4,
    "diff": 5, "pyomo_backend": 5,
    "solve": 6, "costing": 6,
    "diagnose": 7, "results": 7,
    "metrics": 8, "statements": 8,
    "whatifs": 9, "bottlenecks": 9,
    "plan": 10, "buffers": 10, "scenarios": 10, "stochastic_mpi": 10,
    "sensitivity": 11, "stochastic": 11,
    "workbook": 12, "webreport": 12, "template": 12, "docs": 12,
    "report": 13,
    "api": 14, "explain": 14,
    "cli": 15,
    "__init__": 16,
}


def imports() -> dict[str, set[str]]:
    """Every module of the package and the package modules it imports (at any depth of its code)."""
    out = {}
    for path in sorted((REPO / "model").glob("*.py")):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        out[path.stem] = deps
    return out


def test_every_module_imports_only_from_layers_below_it():
    graph = imports()
    assert set(graph) == set(LAYERS), f"place these modules in LAYERS: {sorted(set(graph) ^ set(LAYERS))}"
    upward = [(m, d) for m, deps in graph.items() for d in deps if LAYERS[d] >= LAYERS[m]]
    assert not upward, upward


def test_pyomo_is_imported_only_where_its_back_end_is_used():
    code = (
        "import sys, aop, aop.cli, aop.report, aop.scenarios, aop.sensitivity, aop.buffers\n"
        "from aop import solve_model\n"
        "from tests.conftest import small_case\n"
        "solve_model(small_case())\n"
        "print('pyomo' in sys.modules)\n"
        "solve_model(small_case(), backend='pyomo')\n"
        "print('pyomo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout.split()
    assert out == ["False", "True"]


def test_help_and_the_plan_import_only_what_they_need():
    """`aop --help` answers without pandas, scipy or HiGHS (about 0.6 s of imports); plotly is
    imported only when a page is drawn, not to solve a case and make its tables."""
    code = (
        "import sys, contextlib, io\n"
        "from aop.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "print(sorted(m for m in ('pandas', 'numpy', 'scipy', 'highspy', 'plotly') if m in sys.modules))\n"
        "from aop import plan_of, solve_model\n"
        "from tests.conftest import small_case\n"
        "plan_of(solve_model(small_case()))\n"
        "print('plotly' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout.splitlines()
    assert out == ["[]", "False"]
