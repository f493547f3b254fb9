"""evornn: recurrent neural networks trained by neuroevolution, with BPTT baselines."""
from ._cache import ensure_fresh_cache

ensure_fresh_cache()

from .crossing import center_crossing  # noqa: E402
from .hopfield_rules import hopfield_energy  # noqa: E402
from .network import Network, architecture_options, architectures, describe_architectures  # noqa: E402
from .optim import optimizer, optimizers  # noqa: E402
from .population import population_forward  # noqa: E402
from .problem import make_env  # noqa: E402
from .run import load  # noqa: E402

__all__ = ["Network", "architecture_options", "architectures", "describe_architectures"]
__all__ += ["population_forward"]
__all__ += ["optimizer", "optimizers", "load", "make_env", "center_crossing", "hopfield_energy"]
__version__ = "0.1.0"
