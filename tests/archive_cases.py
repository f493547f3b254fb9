"""A quality-diversity run's archive checked after a stop and a resume, for the QD tests."""
import json
from dataclasses import asdict

import numpy as np

import evornn
from evornn import run
from evornn.run import CONFIG, new_run_dir, read_archive


def assert_resumes_to(cfg, root, whole: dict, stop_after: int) -> None:
    """cfg run afresh under root, stopped after stop_after generations and resumed, ends with
    the archive whole of the uninterrupted run."""
    r = new_run_dir(root, cfg)
    (r / CONFIG).write_text(json.dumps(asdict(cfg)))
    run.run_loop(r, quiet=True, stop_after=stop_after)
    run.run_loop(r, quiet=True)
    again = read_archive(r)
    for k in whole:
        np.testing.assert_array_equal(again[k], whole[k])


def assert_elite_loads(run_dir, whole: dict, i: int) -> None:
    """Elite i of the archive whole comes back from run_dir by its cell."""
    net = evornn.load(run_dir, cell=tuple(int(c) for c in whole["cells"][i]))
    np.testing.assert_array_equal(net.genome, whole["solution"][i])
