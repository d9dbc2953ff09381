import sys

import tests.forked

# `python -m bench.X` measures components as deployed: a fresh interpreter each, not a fork
# of the tests' preloaded parent. (Under pytest, tests that import a bench helper keep it.)
if "pytest" not in sys.modules:
    tests.forked.FRESH_INTERPRETERS = True
