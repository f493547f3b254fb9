"""CuPy where a CUDA GPU is present (else None), for the tests that also run on a GPU."""
import pytest

from evornn.arrays import array_module


def _gpu_module():
    try:
        return array_module("cupy")
    except RuntimeError:
        return None


GPU = _gpu_module()
gpu = pytest.mark.skipif(GPU is None, reason="no CUDA GPU")
