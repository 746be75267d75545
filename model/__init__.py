"""aop: the annual operating plan optimizer (a Pyomo LP solved by HiGHS).

Stages, data flowing one way: read -> validate -> build -> solve -> results -> report.
"""

from .api import load_case, solve_case
from .errors import InputError, Problem, SolveError
from .results import Plan
from .solve import SolveOptions

__all__ = ["load_case", "solve_case", "InputError", "Problem", "SolveError", "Plan", "SolveOptions"]
__version__ = "0.1.0"
