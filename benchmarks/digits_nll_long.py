"""digits-nll with no success bar, for measuring how far a run gets in a fixed budget
(the problem itself stops at its first test NLL below the fully-visible logistic baseline):

    python -m evornn run benchmarks/digits_nll_long.py --optimizer bptt --max-evals 6000 --seed 1

The test NLL of the best network is in the run's summary (``python -m evornn eval RUN_DIR``).
"""
from evornn.problems.digits_nll import make

PROBLEM = make(solve_nll=0.0, name="digits-nll-long")
