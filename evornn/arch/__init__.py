"""Architecture families: one module each, a genome layout plus numba pack/step kernels."""
