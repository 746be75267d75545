"""aop: the annual operating plan optimizer, a linear program solved by HiGHS.

Stages, data flowing one way: read -> validate -> build -> solve -> results -> report.
``solve_case`` gives the plan's tables; ``solve_model`` the solved model, which can be changed
and re-solved warm (``Solved``; every what-if is ``Solved.variant``), and ``plan_of`` its tables.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import InputError, Problem, SolveError
from .version import __version__

if TYPE_CHECKING:
    from .api import check_case, load_case, plan_of, solve_case, solve_model
    from .results import Plan
    from .solve import Solved, SolveOptions

#: Names imported on first use (PEP 562), so `aop --help` and `import aop.cli` do not pay for
#: pandas, scipy and HiGHS (about 0.6 s) before a command needs them.
_LAZY = {
    "check_case": "api", "load_case": "api", "plan_of": "api", "solve_case": "api", "solve_model": "api",
    "Plan": "results", "Solved": "solve", "SolveOptions": "solve",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aop' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["InputError", "Plan", "Problem", "SolveError", "SolveOptions", "Solved", "__version__", "check_case", "load_case", "plan_of", "solve_case", "solve_model"]
