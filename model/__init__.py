"""aop: the annual operating plan optimizer (a Pyomo LP solved by HiGHS).

Stages, data flowing one way: read -> validate -> build -> solve -> results -> report.
``solve_case`` gives the plan's tables; ``solve_model`` the solved model, which can be changed
and re-solved warm (``Solved``), and ``plan_of`` its tables.
"""

from .api import check_case, load_case, plan_of, solve_case, solve_model
from .errors import InputError, Problem, SolveError
from .results import Plan
from .solve import Solved, SolveOptions

__all__ = ["load_case", "check_case", "solve_case", "solve_model", "plan_of", "InputError", "Problem", "SolveError", "Plan", "Solved", "SolveOptions"]
__version__ = "0.1.0"
