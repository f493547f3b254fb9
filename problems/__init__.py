"""The problem zoo, installed as evornn.problems: one module per problem family, each
defining PROBLEM or PROBLEMS (evornn.problem.Problem); modules named _x are helpers.

FACTORIES builds the problems named by a prefix (``gym:ENV_ID``), so that evornn finds
them in the zoo it scans without importing a problem module by name.
"""


def gym(env_id: str):
    """The problem of gymnasium environment env_id (needs gymnasium)."""
    from ._gym import make_problem
    return make_problem(env_id)


FACTORIES = {"gym": gym}
