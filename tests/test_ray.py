"""The Ray backend: the same fitness as the threads backend for any number of actors, a
killed actor's chunk re-run on a replacement, a straggler or a lost worker node costing
time and not results, and a lost cluster ending a run with exit code 4, resumable."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

from evornn import cli  # noqa: E402
from evornn.backends import RayEvaluator  # noqa: E402
from evornn.problem import get_problem  # noqa: E402
from evornn.ray_pool import ChunkCost, guided_chunks, planned_chunks  # noqa: E402
from evornn.ray_watch import ClusterLost, ClusterWatch  # noqa: E402

SLOW_PROBLEM = '''
import time
import numpy as np
from evornn.problem import Problem


held = {"state": {"shift": 0.0}, "pending": None}


def evaluate(net, G, seed):
    time.sleep(0.5)                          # long enough to kill a worker in the middle
    held["pending"] = G[:, 0].copy()         # what it gathered: each genome's first gene
    return -np.sum((G - 0.1 * seed[1] - held["state"]["shift"]) ** 2, axis=1)


def set_gathered(parts):
    held["pending"] = np.concatenate(parts)


PROBLEM = Problem("slow-sphere", "a sphere that takes its time", n_in=1, n_out=1, arch="elman",
                  n_hidden=2, evaluate=evaluate, solved=lambda net, g, f: (f > -1e-3, {}),
                  get_state=lambda: dict(held["state"]),
                  set_state=lambda s: held.update(state=dict(s), pending=None),
                  gathered=lambda: held["pending"], set_gathered=set_gathered)
'''

# a user's problem file: module-level data, a compiled helper and a lambda, all sent by value
USER_PROBLEM = '''
import numpy as np
from numba import njit

import evornn
from evornn.problem import Problem

X = np.random.default_rng(11).uniform(-1, 1, (6, 12, 1))
Y = np.roll(X, 2, axis=1)                     # recall the input of two steps ago


@njit
def mse(out, target):
    P, B, T, _ = out.shape
    f = np.empty(P)
    for p in range(P):
        f[p] = np.mean((out[p, :, 2:, 0] - target[:, 2:, 0]) ** 2)
    return f


def evaluate(net, G, seed):
    return -mse(evornn.population_forward(net, G, X), Y)


PROBLEM = Problem("recall-2", "recall the input of two steps ago", n_in=1, n_out=1, arch="elman",
                  n_hidden=4, evaluate=evaluate, solved=lambda net, g, f: (f > -1e-3, {}))
'''

# a problem that holds a lock: it cannot be pickled, so it cannot reach Ray workers
LOCKED_PROBLEM = '''
import threading
import numpy as np
from evornn.problem import Problem

LOCK = threading.Lock()


def evaluate(net, G, seed):
    with LOCK:
        return -np.sum(G ** 2, axis=1)


PROBLEM = Problem("locked", "a sphere behind a lock", n_in=1, n_out=1, arch="elman", n_hidden=2,
                  evaluate=evaluate, solved=lambda net, g, f: (f > -1e-3, {}))
'''
LOCKED_ERROR = ("problem 'locked' cannot be sent to Ray workers: its evaluate does not pickle "
                "(TypeError: cannot pickle '_thread.lock' object)")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def population(net, n=37, seed=0):
    return np.random.default_rng(seed).normal(0, 2, (n, net.n_params))


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_same_fitness_as_threads_for_any_number_of_actors(local_ray, workers):
    prob = get_problem("dpnv")
    net = prob.network()
    G = population(net)
    want = prob.evaluate(net, G, (0, 3))
    ev = RayEvaluator("dpnv", prob.arch, prob.n_hidden, 0, workers=workers)
    try:
        got = ev(G, (0, 3))
        assert len(ev.actors) == workers and ev.replaced == 0
    finally:
        ev.close()
    np.testing.assert_array_equal(got, want)
    assert want.max() > want.min()


def test_a_killed_actor_has_its_chunk_rerun_on_a_replacement(local_ray, tmp_path):
    """...under the driver's problem state, and what the chunks gathered counts each genome
    once, in population order."""
    mine = tmp_path / "slow.py"
    mine.write_text(SLOW_PROBLEM)
    prob = get_problem(str(mine))
    net = prob.network()
    G = population(net, n=12)
    ev = RayEvaluator(prob, "elman", 2, 0, workers=2)
    prob.set_state({"shift": 0.25})                      # after the actors got their copy
    want = prob.evaluate(net, G, (0, 5))
    try:
        ev(G[:2], (0, 0))                                 # actors up and warm
        pids = ev.pids()
        result = {}
        t = threading.Thread(target=lambda: result.setdefault("f", ev(G, (0, 5))))
        t.start()
        time.sleep(0.25)                                  # both actors are in their first chunk
        os.kill(pids[0], signal.SIGKILL)
        t.join(timeout=120)
        assert ev.replaced == 1 and len(ev.actors) == 2
        np.testing.assert_array_equal(result["f"], want)
        np.testing.assert_array_equal(prob.gathered(), G[:, 0])
        assert pids[0] not in ev.pids()
        np.testing.assert_array_equal(ev(G, (0, 5)), want)  # and the next generation too
    finally:
        ev.close()


def test_head_and_worker_node_cluster_gives_the_same_fitness():
    from ray.cluster_utils import Cluster
    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    try:
        prob = get_problem("double-pole")
        net = prob.network()
        G = population(net, n=16, seed=1)
        want = prob.evaluate(net, G, (0, 0))
        ev = RayEvaluator("double-pole", prob.arch, prob.n_hidden, 0, workers=2,
                          address=cluster.address)
        try:
            cluster.wait_for_nodes()
            assert len([n for n in ray.nodes() if n["Alive"]]) == 2
            np.testing.assert_array_equal(ev(G, (0, 0)), want)
        finally:
            ev.close()
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.mark.parametrize("optimizer", ["xnes", "es"])     # es: seeds cross, not genomes
def test_cli_run_on_ray_equals_the_threads_run(tmp_path, optimizer):
    rows = []
    for backend in ("threads", "ray"):
        out = tmp_path / backend
        r = subprocess.run([sys.executable, "-m", "evornn", "run", "dpnv", "--seed", "2",
                            "--optimizer", optimizer, "--popsize", "12",
                            "--generations", "12", "--backend", backend, "--workers", "2",
                            "--quiet", "--out", str(out)], capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 1, r.stderr                 # 12 generations: not solved yet
        (d,) = out.iterdir()
        assert json.loads((d / "config.json").read_text())["backend"] == backend
        rows.append([row.rsplit(",", 1)[0] for row in (d / "metrics.csv").read_text().splitlines()])
    assert len(rows[0]) == 13 and rows[0] == rows[1]


def test_openai_es_ships_seeds_not_genomes(local_ray):
    """Workers rebuild OpenAI-ES's population from the perturbation seeds and the mean: the
    same fitness as evaluating the asked genomes, for a fraction of the bytes."""
    import evornn
    prob = get_problem("parity")
    net = prob.network()
    opt = evornn.optimizer("es", net.n_params, seed=1, popsize=40, sigma0=0.5, bounds=net.bounds())
    ev = RayEvaluator("parity", prob.arch, prob.n_hidden, 0, workers=2)
    try:
        for g in range(3):
            G = opt.ask()
            want = prob.evaluate(net, G, (0, g))
            sent = ev.bytes_sent
            got = ev.evaluate_seeds(opt.seed_batch(), (0, g))
            np.testing.assert_array_equal(got, want)
            assert ev.bytes_sent - sent == 8 * (net.n_params + 20)   # the mean and 20 seeds
            opt.tell(G, got)
        assert G.nbytes == 8 * 40 * net.n_params
    finally:
        ev.close()


def test_a_problem_file_the_workers_cannot_import_is_shipped_to_them(local_ray, tmp_path):
    """The driver's Problem object goes through the object store: the file is gone (as on
    another node) and the actors still evaluate exactly what the threads backend does."""
    mine = tmp_path / "recall.py"
    mine.write_text(USER_PROBLEM)
    prob = get_problem(str(mine))
    mine.unlink()
    with pytest.raises(ValueError, match="does not exist"):
        get_problem(str(mine))                            # what a worker would get today
    net = prob.network()
    G = population(net, n=20, seed=3)
    ev = RayEvaluator(prob, prob.arch, prob.n_hidden, 0, workers=2)
    try:
        for g in range(2):
            want = prob.evaluate(net, G, (0, g))
            np.testing.assert_array_equal(ev(G, (0, g)), want)
        assert len(ev.actors) == 2 and ev.replaced == 0
    finally:
        ev.close()
    assert want.max() > want.min() and np.isfinite(want).all()


def test_a_gym_problem_on_ray_equals_threads(local_ray):
    pytest.importorskip("gymnasium")
    prob = get_problem("gym:CartPole-v1")
    net = prob.network()
    G = population(net, n=8, seed=4)
    want = prob.evaluate(net, G, (1, 2))
    ev = RayEvaluator("gym:CartPole-v1", prob.arch, prob.n_hidden, 1, workers=2)
    try:
        np.testing.assert_array_equal(ev(G, (1, 2)), want)
    finally:
        ev.close()
    assert want.max() > want.min()


def test_running_normalization_on_ray_equals_threads_bit_for_bit(local_ray, tmp_path):
    """gym:Pendulum-v1 with running observation statistics, 3 generations on 2 actors: each
    chunk evaluated under the driver's state and its gatherings merged in chunk order give the
    threads run's metrics, champion and statistics, bit for bit."""
    pytest.importorskip("gymnasium")
    import csv
    from dataclasses import asdict

    from evornn import statefile
    from evornn.run import CHECKPOINT, CONFIG, RunConfig, new_run_dir, read_problem_state, run_loop
    out = []
    for backend in ("threads", "ray"):
        cfg = RunConfig(problem="gym:Pendulum-v1", arch="elman", hidden=3, optimizer="xnes",
                        popsize=8, sigma0=0.5, max_evals=10_000, seed=3, generations=3,
                        backend=backend, workers=2,
                        problem_options={"episodes": 1, "max_steps": 50, "normalize": "running"})
        d = new_run_dir(tmp_path / backend, cfg)
        (d / CONFIG).write_text(json.dumps(asdict(cfg)))
        summary = run_loop(d, quiet=True)
        rows = [{k: v for k, v in r.items() if k != "wall_time_s"}
                for r in csv.DictReader(open(d / "metrics.csv"))]
        last = statefile.loads((d / CHECKPOINT).read_bytes())["run"]["problem"]
        out.append((summary, rows, read_problem_state(d), last))
    (a, ra, ba, sa), (b, rb, bb, sb) = out
    assert [int(r["env_steps"]) for r in ra] == [400, 800, 1200] and ra == rb
    assert a["best_fitness"] == b["best_fitness"] and a["env_steps"] == b["env_steps"] == 1200
    assert sa["count"] == 1200 and len({r["best"] for r in ra}) > 1
    for k in ("count", "sum", "sumsq", "env_steps"):
        np.testing.assert_array_equal(sa[k], sb[k])
        np.testing.assert_array_equal(ba[k], bb[k])


def test_a_state_without_the_gathering_hooks_is_refused_ray_in_one_line():
    from dataclasses import replace

    from evornn.run import RunConfig, check_problem_fit
    prob = replace(get_problem("dpnv"), get_state=dict, set_state=lambda s: None)
    cfg = RunConfig(problem="mine.py", arch="elman", hidden=2, optimizer="xnes", popsize=8,
                    sigma0=0.5, max_evals=100, seed=0, backend="ray")
    with pytest.raises(ValueError) as e:
        check_problem_fit(cfg, prob)
    assert str(e.value) == ("problem mine.py keeps a state that changes as the run goes but lacks "
                            "set_state, gathered or set_gathered, which Ray workers need to share "
                            "it: use --backend threads")
    check_problem_fit(cfg, replace(prob, gathered=lambda: None, set_gathered=lambda p: None))


def test_an_unpicklable_problem_is_one_clear_error_before_the_run(tmp_path):
    mine = tmp_path / "locked.py"
    mine.write_text(LOCKED_PROBLEM)
    with pytest.raises(ValueError) as e:
        RayEvaluator(str(mine), "elman", 2, 0, workers=2)
    assert str(e.value).startswith(LOCKED_ERROR) and "--backend threads" in str(e.value)
    out = tmp_path / "runs"
    r = subprocess.run([sys.executable, "-m", "evornn", "run", str(mine), "--backend", "ray",
                        "--quiet", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and LOCKED_ERROR in r.stderr, r.stderr
    assert not out.exists()                               # no run directory, no Ray started


# each genome waits, as a robot or an external simulator would; fitness() is what it scores
SLEEP_PROBLEM = '''
import time
import numpy as np
from evornn.problem import Problem


def fitness(G, seed):
    return -np.sum((np.asarray(G) - 0.1 * seed[1]) ** 2, axis=1)


def evaluate(net, G, seed):
    time.sleep({delay} * len(G))
    return fitness(G, seed)


PROBLEM = Problem("sleeper", "each genome waits", n_in=1, n_out=1, arch="elman", n_hidden=2,
                  evaluate=evaluate, solved=lambda net, g, f: (False, {{}}))
'''


def sleeper(tmp_path, delay=0.01):
    """The sleeping problem and its fitness function (computed here, without the waits)."""
    mine = tmp_path / "sleeper.py"
    mine.write_text(SLEEP_PROBLEM.format(delay=delay))
    prob = get_problem(str(mine))
    return prob, prob.evaluate.__globals__["fitness"]


def counted(factor):
    """For an actor's __ray_call__: its evaluations take factor times as long, and it counts
    the genomes it evaluates in .seen."""
    def apply(worker):
        import time
        from dataclasses import replace
        evaluate, worker.seen = worker.prob.evaluate, 0

        def slower(net, G, seed):
            t0 = time.perf_counter()
            f = evaluate(net, G, seed)
            time.sleep((factor - 1) * (time.perf_counter() - t0))
            worker.seen += len(G)
            return f
        worker.prob = replace(worker.prob, evaluate=slower)
    return apply


@pytest.mark.parametrize("n, workers", [(1024, 32), (16, 2), (5, 4), (7, 1), (0, 3)])
def test_guided_chunks_cover_the_population_big_ones_first(n, workers):
    chunks = guided_chunks(n, workers)
    edges = [0] + [hi for _, hi in chunks]
    assert [lo for lo, _ in chunks] == edges[:-1] and edges[-1] == n
    sizes = [hi - lo for lo, hi in chunks]
    assert sizes == sorted(sizes, reverse=True) and all(s >= 1 for s in sizes)
    if workers == 1:
        assert len(chunks) == (n > 0)               # nothing to balance: one chunk
    elif n:
        assert sizes[0] == -(-n // (2 * workers)) and sizes[-1] == 1


def test_cheap_genomes_go_in_chunks_worth_their_round_trip():
    """4 us a genome and 2 ms a round trip (a pole episode here): no chunk under 4 round
    trips of work, none over the first guided one, and short ones queued two an actor."""
    cost = ChunkCost()
    assert cost.smallest() == 1 and not cost.short(1)      # nothing measured yet
    cost.learn(items=4096, busy=4096 * 4e-6, trips=[2e-3, 2e-3, 9e-3])   # one behind a queue
    assert cost.smallest() == 2000 and cost.short(2000) and not cost.short(3000)
    assert guided_chunks(4096, 2, smallest=cost.smallest()) == [(0, 1024), (1024, 2048),
                                                               (2048, 3072), (3072, 4096)]
    sizes = [hi - lo for lo, hi in guided_chunks(4096, 2, smallest=300)]
    assert sizes[:3] == [1024, 768, 576] and min(sizes[:-1]) == 300 and sum(sizes) == 4096
    cost.learn(items=16, busy=16 * 0.02, trips=[2e-3])      # 20 ms a genome: single genomes
    assert cost.smallest() == 1 and not cost.short(1)


def test_actors_of_known_speed_get_one_chunk_each_sized_to_it_then_a_guided_tail():
    first, rest = planned_chunks(1024, [10.0, 20.0, 10.0, 40.0])
    assert [hi - lo for lo, hi in first] == [112, 224, 112, 448]        # 7/8 of 1024 by speed
    chunks = first + rest
    edges = [0] + [hi for _, hi in chunks]
    assert [lo for lo, _ in chunks] == edges[:-1] and edges[-1] == 1024
    assert [hi - lo for lo, hi in rest][:2] == [16, 14] and rest[-1][1] - rest[-1][0] == 1
    first, rest = planned_chunks(256, [50.0, 50.0])
    assert first == [(0, 112), (112, 224)] and rest[0] == (224, 232) and rest[-1] == (255, 256)
    # a tail of under 2 genomes an actor adds only round trips: the first chunks take all
    assert planned_chunks(16, [50.0, 50.0]) == ([(0, 8), (8, 16)], [])
    assert planned_chunks(16, [1.0, 1.0, 1.0]) == ([(0, 6), (6, 11), (11, 16)], [])
    assert planned_chunks(5, [1.0, 2.0]) == ([(0, 2), (2, 5)], [])


def test_a_slot_that_fell_behind_gets_no_chunk_queued_and_speeds_need_every_slot():
    cost = ChunkCost()
    assert not cost.steady(0) and cost.rates(2) is None                 # nothing measured
    cost.learn(items=24, busy=0.6, trips=[2e-3], slots={0: (8, 0.16), 1: (8, 0.16), 2: (8, 0.32)})
    assert cost.steady(0) and cost.steady(1) and not cost.steady(2)      # 2x the median
    assert cost.rates(3) == pytest.approx([50, 50, 25]) and cost.rates(4) is None
    cost.learn(items=8, busy=0.16, trips=[2e-3], slots={0: (8, 0.16)})
    assert not cost.steady(0) and cost.rates(1) is None                  # one slot: no one to pace


def test_a_straggler_takes_fewer_genomes_and_changes_no_fitness(local_ray, tmp_path):
    """Chunks go to whichever actor is free: an actor 10x slower than the other evaluates
    less of the population, and every fitness is the same as without it."""
    prob, fitness = sleeper(tmp_path)
    G = population(prob.network(), n=40, seed=6)
    ev = RayEvaluator(prob, prob.arch, prob.n_hidden, 0, workers=2)
    try:
        ev.pids()
        ray.get([a.__ray_call__.remote(counted(f)) for a, f in zip(ev.actors, (10, 1))])
        for g in range(2):
            np.testing.assert_array_equal(ev(G, (0, g)), fitness(G, (0, g)))
        slow, fast = ray.get([a.__ray_call__.remote(lambda w: w.seen) for a in ev.actors])
    finally:
        ev.close()
    assert slow + fast == 80 and slow < fast, (slow, fast)


def test_a_worker_node_removed_mid_run_costs_time_not_results(tmp_path):
    """Four actors on a head and a worker node; the worker node goes during generation 1.
    Its two actors' chunks are re-run on the head's two while their replacements wait for a
    CPU that never comes, and every generation's fitness is what it would have been."""
    from ray.cluster_utils import Cluster
    if ray.is_initialized():
        ray.shutdown()
    # node deaths found in 0.6 s rather than 15 s, to keep the test short
    fast = {"health_check_period_ms": 200, "health_check_failure_threshold": 3}
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 2, "include_dashboard": False, "_system_config": fast})
    node = cluster.add_node(num_cpus=2)
    prob, fitness = sleeper(tmp_path, delay=0.02)
    G = population(prob.network(), n=24, seed=7)
    got = []
    try:
        cluster.wait_for_nodes()
        ev = RayEvaluator(prob, prob.arch, prob.n_hidden, 0, workers=4, address=cluster.address)
        try:
            ev.pids()
            where = ray.get([a.__ray_call__.remote(
                lambda w: ray.get_runtime_context().get_node_id()) for a in ev.actors])
            assert where.count(node.node_id) == 2
            got.append(ev(G, (0, 0)))
            remove = threading.Timer(0.05, cluster.remove_node, (node,), {"allow_graceful": False})
            remove.start()
            # its actors outlive their raylet until the GCS declares the node dead
            while ev.replaced < 2 and len(got) < 60:
                got.append(ev(G, (0, len(got))))
            remove.join()
            assert ev.replaced == 2 and len(ev.pool.ready()) == 2
            for _ in range(2):                                    # on the head's two alone
                got.append(ev(G, (0, len(got))))
        finally:
            ev.close()
    finally:
        ray.shutdown()
        cluster.shutdown()
    for g, f in enumerate(got):
        np.testing.assert_array_equal(f, fitness(G, (0, g)))


def test_a_watch_names_what_does_not_answer():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        up = s.getsockname()
        with socket.socket() as gone:
            gone.bind(("127.0.0.1", 0))
            down = gone.getsockname()
        watch = ClusterWatch({"the GCS": up, "this node's raylet": down})
        with pytest.raises(ClusterLost, match="this node's raylet does not answer"):
            watch.check()
    assert watch.lost.startswith("this node's raylet does not answer ([Errno 111]")
    with pytest.raises(ClusterLost):
        watch.check()                                     # once lost, always lost


# kills a process of the run's own local Ray at generation 2, once (the flag file)
KILLER = '''
import os
import signal
import socket
import time
from pathlib import Path

import numpy as np
import ray

from evornn.problem import Problem
from evornn.ray_watch import driver_endpoints

ENDPOINT = {{"gcs_server": "the GCS", "raylet": "this node's raylet"}}
FLAG = Path({flag!r})


def parent(pid):
    return int(Path(f"/proc/{{pid}}/stat").read_text().rsplit(")", 1)[1].split()[1])


def children(pid):
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if parent(stat.parent.name) == pid:
                yield int(stat.parent.name), (stat.parent / "cmdline").read_text().split("\\0")[0]
        except (OSError, ValueError):
            pass                                   # a process that has gone meanwhile


def kill_ray(name):
    """SIGKILL the raylet (this actor's parent) or the GCS (the raylet's sibling: the driver
    started both). The raylet's agents, which outlive it for a minute, go in the flag's
    .agents file for the test to stop."""
    raylet = int(os.environ["RAY_RAYLET_PID"])
    agents = [pid for pid, exe in children(raylet) if "Agent" in exe]
    FLAG.with_suffix(".agents").write_text(" ".join(map(str, agents)))
    ports = driver_endpoints(ray, None)
    (port,) = [where for what, where in ports.items() if what.startswith(ENDPOINT[name])]
    for pid, exe in children(parent(raylet)):
        if Path(exe).name == name:
            os.kill(pid, signal.SIGKILL)
            gone(port)


def gone(port):
    """Waits until the killed process's port refuses connections, as the run's probe will
    find it: SIGKILL is delivered asynchronously, and a port still answering lets the run
    go on a generation or two."""
    for _ in range(1000):
        try:
            socket.create_connection(port, timeout=1).close()
        except OSError:
            return
        time.sleep(0.01)


def evaluate(net, G, seed):
    if seed[1] == 2:
        try:
            FLAG.unlink()                          # only one actor kills, only once
        except FileNotFoundError:
            pass
        else:
            kill_ray({victim!r})
    return -np.sum(np.asarray(G) ** 2, axis=1)


PROBLEM = Problem("killer", "a sphere whose evaluation kills its Ray", n_in=1, n_out=1,
                  arch="elman", n_hidden=2, evaluate=evaluate,
                  solved=lambda net, g, f: (False, {{}}), popsize=6, max_evals=60)
'''


def _rows(d):
    return [r.rsplit(",", 1)[0] for r in (d / "metrics.csv").read_text().splitlines()]


@pytest.mark.parametrize("victim, what", [("raylet", "this node's raylet at "),
                                          ("gcs_server", "the GCS at ")])
def test_a_lost_cluster_ends_the_run_with_exit_4_and_resume_finishes_it(tmp_path, victim, what):
    """Not exit 1 without a word (Ray's own end, up to a minute later): one line, exit 4,
    the checkpoint intact, and resume reaches the uninterrupted run's result."""
    flag = tmp_path / "kill.flag"
    flag.touch()
    mine = tmp_path / "killer.py"
    mine.write_text(KILLER.format(flag=str(flag), victim=victim))
    out = tmp_path / "runs"
    r = subprocess.run([sys.executable, "-m", "evornn", "run", str(mine), "--seed", "1",
                        "--backend", "ray", "--workers", "2", "--quiet", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    for pid in (tmp_path / "kill.agents").read_text().split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    (d,) = out.iterdir()
    errors = [line for line in r.stderr.splitlines() if line.startswith("error")]
    assert r.returncode == 4, r.stderr
    assert len(errors) == 1 and errors[0].startswith(f"error: the Ray cluster was lost: {what}")
    assert errors[0].endswith(f"does not answer ([Errno 111] Connection refused); the last "
                              f"finished generation is checkpointed: python -m evornn resume {d} "
                              "continues it"), errors[0]
    assert not flag.exists() and not (d / "summary.json").exists()
    assert 1 + 2 <= len(_rows(d)) <= 1 + 3                   # generations 0, 1 (and 2) finished
    r = subprocess.run([sys.executable, "-m", "evornn", "resume", str(d), "--quiet"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr                        # the budget, not solved
    assert cli.main(["run", str(mine), "--seed", "1", "--quiet", "--out", str(tmp_path / "ref")]) == 1
    (ref,) = (tmp_path / "ref").iterdir()
    assert len(_rows(d)) == 1 + 10 and _rows(d) == _rows(ref)


def test_measures_come_back_from_the_actors_as_from_the_threads(local_ray, tmp_path):
    """A problem's measures (quality diversity, several objectives) cross from the actors
    with the fitness, row for row."""
    from tests.test_measures import MEASURED
    mine = tmp_path / "measured.py"
    mine.write_text(MEASURED)
    prob = get_problem(str(mine))
    net = prob.network()
    G = population(net, n=23, seed=4)
    want_f, want_v = prob.evaluate(net, G, (0, 1), measures=True)
    ev = RayEvaluator(prob, prob.arch, prob.n_hidden, 0, workers=2)
    try:
        f, v = ev(G, (0, 1), measures=True)
        plain = ev(G, (0, 1))
    finally:
        ev.close()
    np.testing.assert_array_equal(f, want_f)
    np.testing.assert_array_equal(v, want_v)
    np.testing.assert_array_equal(plain, want_f)
    assert v.shape == (23, 2) and np.ptp(v[:, 0]) > 0
