"""The problem zoo, installed as evornn.problems: one module per problem family, each
defining PROBLEM or PROBLEMS (evornn.problem.Problem); modules named _x are helpers.

FACTORIES builds the problems named by a prefix (``gym:ENV_ID``), so that evornn finds
them in the zoo it scans without importing a problem module by name; MEASURED names those
of them that declare measures, for the error that lists such problems.
"""


def gym(env_id: str, **options):
    """The problem of gymnasium environment env_id (needs gymnasium); options as
    _gym.make_problem takes them, checked first (a one-line ValueError), over the
    environment's own defaults."""
    from ._gym import check_options, make_problem
    from ._mujoco_defaults import with_defaults, with_search_defaults
    check_options(env_id, options)         # an unknown name is one line, not make_problem's TypeError
    options = with_defaults(env_id, options)
    return with_search_defaults(env_id, make_problem(env_id, **options))


def MEASURED() -> list[str]:
    """The problems the factories make that declare measures (gym: MuJoCo walkers' feet)."""
    from ._gym import with_feet
    return with_feet()


FACTORIES = {"gym": gym}
