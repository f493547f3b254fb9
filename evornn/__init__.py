"""evornn: recurrent neural networks trained by neuroevolution, with BPTT baselines."""
from .network import Network, architectures, describe_architectures
from .population import population_forward

__all__ = ["Network", "architectures", "describe_architectures", "population_forward"]
__version__ = "0.1.0"
