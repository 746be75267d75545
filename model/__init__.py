"""aop: the annual operating plan optimizer, a linear program solved by HiGHS.

Stages, data flowing one way: read -> validate -> build -> solve -> results -> report.
``solve_case`` gives the plan's tables; ``solve_model`` the solved model, which can be changed
and re-solved warm (``Solved``; every what-if is ``Solved.variant``), and ``plan_of`` its tables.
"""

from .api import check_case, load_case, plan_of, solve_case, solve_model
from .errors import InputError, Problem, SolveError
from .results import Plan
from .solve import Solved, SolveOptions
from .version import __version__

__all__ = ["InputError", "Plan", "Problem", "SolveError", "SolveOptions", "Solved", "__version__", "check_case", "load_case", "plan_of", "solve_case", "solve_model"]
