"""python -m evornn draw: a network as a graph (one arrow per nonzero weight, coloured by sign,
as wide as |w|, time constants and sensor/motor names) or as heat maps of its blocks."""
from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest
from matplotlib.colors import to_rgba

import evornn
from evornn import cli, draw
from evornn.arch import ctrnn_genes
from tests.family_cases import sized

PNG = b"\x89PNG\r\n\x1a\n"


def _gid(artist) -> str:
    return artist.get_gid() or ""


def _edges(fig) -> dict:
    """'SRC>DST' -> the artist of that weight."""
    ax = fig.axes[0]
    return {_gid(p)[2:]: p for p in ax.patches if _gid(p).startswith("w:")}


def _texts(fig, prefix: str) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts if _gid(t).startswith(prefix)]


def _check_edges(fig, expected: dict) -> None:
    """expected: 'SRC>DST' -> weight. One artist each, red +, blue -, widths monotone in |w|."""
    from matplotlib.patches import Circle
    edges = _edges(fig)
    assert set(edges) == set(expected)
    for key, w in expected.items():
        colour = draw.POSITIVE if w > 0 else draw.NEGATIVE
        assert edges[key].get_edgecolor()[:3] == pytest.approx(to_rgba(colour)[:3])
        src, dst = key.split(">")
        assert isinstance(edges[key], Circle) == (src == dst)     # self-loops: small circles
    order = sorted(expected, key=lambda k: abs(expected[k]))
    widths = [edges[k].get_linewidth() for k in order]
    mags = [abs(expected[k]) for k in order]
    assert all(b >= a for a, b in zip(widths, widths[1:]))
    assert all(wb > wa for (ma, wa), (mb, wb) in zip(zip(mags, widths), zip(mags[1:], widths[1:]))
               if mb > ma * (1 + 1e-9))


def _matrix(W, src: str, dst: str) -> dict:
    return {f"{src}{k}>{dst}{j}": float(W[j, k]) for j, k in zip(*np.nonzero(W))}


def test_an_frnn_graph_has_one_arrow_per_nonzero_weight_and_names_its_sensors_and_motors():
    net = evornn.Network("frnn", 2, 4, 2, seed=3, readout="linear", inputs=("left", "right"),
                         outputs=("thrust", "turn"))
    g = net.genome
    for name, zero in (("W_ih", [(0, 1), (3, 0)]), ("W_hh", [(1, 1), (2, 0)]), ("W_out", [(1, 2)])):
        b = next(b for b in net.layout if b.name == name)
        for j, k in zero:
            g[b.offset + j * b.shape[1] + k] = 0.0
    net.genome = g
    fig = draw.draw(net)                                   # auto: a graph
    expected = {**_matrix(net.block("W_ih"), "in", "h"), **_matrix(net.block("W_hh"), "h", "h"),
                **_matrix(net.block("W_out"), "h", "out")}
    assert len(expected) == 8 + 16 + 8 - 5
    assert sum(k.split(">")[0] == k.split(">")[1] for k in expected) == 3     # h1's loop is 0
    _check_edges(fig, expected)
    assert _texts(fig, "label:in:") == ["left", "right"]
    assert _texts(fig, "label:out:") == ["thrust", "turn"]


def test_a_ctrnn_graph_writes_the_decoded_time_constants_and_names_its_motor_neurons():
    net = evornn.Network("ctrnn", 1, 5, 3, seed=2, genes="unit", tau_range=(0.5, 10.0),
                         inputs=("leg angle",), outputs=("foot", "backward swing", "forward swing"))
    g = net.genome
    tau = next(b for b in net.layout if b.name == "tau")
    g[tau.offset] = 1.7                                    # outside [-1, 1]: clipped to tau 10
    net.genome = g
    fig = draw.draw(net, "graph")
    genes = np.clip(net.block("tau"), -1, 1)
    taus = 0.5 + (genes + 1) / 2 * 9.5
    assert taus[0] == 10.0
    assert _texts(fig, "tau:") == [f"τ={t:.3g}" for t in taus]
    r = 16.0                                               # weight_range: unit genes * 16
    expected = {**_matrix(net.block("W_in") * r, "in", "h"), **_matrix(net.block("W") * r, "h", "h")}
    _check_edges(fig, expected)
    assert _texts(fig, "label:in:") == ["leg angle"]
    assert _texts(fig, "label:out:") == ["foot", "backward swing", "forward swing"]
    assert ctrnn_genes.to_parameter("tau", net.block("tau"), net.layers[0].opts) == \
        pytest.approx(taus)


def test_other_families_draw_as_graphs_with_their_own_connections():
    net = evornn.Network("indrnn", 2, 3, 1, seed=1, max_recurrent=0.5)
    fig = draw.draw_graph(net)
    u = np.clip(net.block("u"), -0.5, 0.5)
    loops = {k: v for k, v in _edges(fig).items() if k.split(">")[0] == k.split(">")[1]}
    assert {k: p.get_linewidth() for k, p in loops.items()}.keys() == {f"h{j}>h{j}" for j in range(3)}
    _check_edges(fig, {**_matrix(net.block("W_ih"), "in", "h"), **_matrix(np.diag(u), "h", "h"),
                       **_matrix(net.block("W_out"), "h", "out")})
    net = evornn.Network("jordan", 2, 3, 2, seed=1)       # the context: outputs back to hidden
    _check_edges(draw.draw_graph(net), {**_matrix(net.block("W_ih"), "in", "h"),
                                        **_matrix(net.block("W_ch"), "out", "h"),
                                        **_matrix(net.block("W_out"), "h", "out")})


def test_a_stack_draws_each_layer_fed_by_the_neurons_below():
    net = evornn.Network("elman+ctrnn", 2, [3, 4], 2, seed=4, outputs=("a", "b"))
    fig = draw.draw(net)
    expected = {**_matrix(net.block("0.W_ih"), "in", "h0."),
                **_matrix(net.block("0.W_hh"), "h0.", "h0."),
                **_matrix(net.block("1.W_in"), "h0.", "h1."),          # layer 0's neurons feed 1
                **_matrix(net.block("1.W"), "h1.", "h1.")}
    assert len(expected) == 6 + 9 + 12 + 16
    _check_edges(fig, expected)
    taus = np.clip(net.block("1.tau"), *net.layers[1].opts["tau_range"])
    assert _texts(fig, "tau:") == [f"τ={t:.3g}" for t in taus]
    assert _texts(fig, "label:out:") == ["a", "b"]                   # ctrnn's first two neurons


def test_what_is_not_drawn_as_a_graph_says_why_in_one_line():
    with pytest.raises(ValueError, match="lstm is not drawn as a graph .* use --kind heatmap"):
        draw.draw(evornn.Network("lstm", 2, 3, 1), "graph")
    with pytest.raises(ValueError, match="31 hidden neurons are too many for a readable graph"):
        draw.draw_graph(evornn.Network("elman", 2, 31, 1))
    with pytest.raises(ValueError, match="a bidirectional network is not drawn as a graph"):
        draw.draw_graph(evornn.Network("elman", 2, 3, 1, bidirectional=True))
    fig = draw.draw(evornn.Network("elman", 2, 31, 1))     # auto: heat maps above 30 neurons
    assert [_gid(im) for im in fig.axes[0].images] == ["block:W_ih"]


@pytest.mark.parametrize("arch", evornn.architectures())
def test_heat_maps_show_every_block_of_every_family_exactly(arch):
    net = evornn.Network(arch, *sized(arch, 2, 4, 2), seed=1)
    fig = draw.draw_heatmaps(net)
    images = [im for ax in fig.axes for im in ax.images]
    assert [_gid(im) for im in images] == [f"block:{b.name}" for b in net.layout]
    for im, b in zip(images, net.layout):
        v = net.block(b.name)
        assert np.array_equal(im.get_array(), v.reshape(v.shape[0], -1) if v.ndim >= 2
                              else np.atleast_2d(v))
        lo, hi = im.get_clim()
        assert lo == -hi and hi >= np.abs(v).max()        # centred at 0
    assert [ax.get_title() for ax in fig.axes if ax.images] == \
        [f"{b.name} {list(b.shape)}" for b in net.layout]


def _run_dir(tmp_path):
    """A run directory of the walker (a named CTRNN) holding a best network, as a run leaves it."""
    from evornn.problem import get_problem
    from evornn.run import CONFIG, RunConfig, save_best
    cfg = RunConfig(problem="walker", arch="ctrnn", hidden=5, optimizer="xnes", popsize=4,
                    sigma0=1.0, max_evals=8, seed=1)
    d = tmp_path / "walker-run"
    d.mkdir()
    (d / CONFIG).write_text(json.dumps(asdict(cfg)))
    net = get_problem("walker").network("ctrnn", 5, seed=1)
    save_best(d, cfg, net.genome, 1.0)
    return d


def test_the_command_writes_a_png_and_refuses_bad_paths_in_one_line(tmp_path, capsys):
    d = _run_dir(tmp_path)
    assert cli.main(["draw", str(d)]) == 0
    assert capsys.readouterr().out.strip() == str(d / "network.png")
    data = (d / "network.png").read_bytes()
    assert data[:8] == PNG and len(data) > 10_000
    assert cli.main(["draw", str(d), "--kind", "heatmap", "--out", str(tmp_path / "h.png")]) == 0
    assert (tmp_path / "h.png").read_bytes()[:8] == PNG
    for argv, message in [
        (["draw", str(tmp_path / "nothere")], f"{tmp_path / 'nothere'} is not an evornn run "
                                              "directory (no config.json)"),
        (["draw", str(d), "--out", str(tmp_path / "no" / "x.png")],
         f"--out {tmp_path / 'no' / 'x.png'}: the folder {tmp_path / 'no'} does not exist"),
        (["draw", str(d), "--out", str(tmp_path / "x.txt")],
         f"--out {tmp_path / 'x.txt'} must end in .png, .svg, .pdf"),
    ]:
        assert cli.main(argv) == 2
        assert capsys.readouterr().err == f"error: {message}\n"
    (d / "best.npz").write_bytes(b"garbage")
    assert cli.main(["draw", str(d)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {d / 'best.npz'} is damaged (") and err.count("\n") == 1


def test_report_draws_the_network_beside_the_fitness_plot(tmp_path, capsys):
    from evornn.listeners import METRIC_FIELDS
    from evornn.problem import get_problem
    from evornn.run import CONFIG, RunConfig, save_best
    cfg = RunConfig(problem="dpnv", arch="frnn", hidden=3, optimizer="cmaes", popsize=4,
                    sigma0=1.0, max_evals=8, seed=1)
    d = tmp_path / "dpnv-run"
    d.mkdir()
    (d / CONFIG).write_text(json.dumps(asdict(cfg)))
    save_best(d, cfg, get_problem("dpnv").network("frnn", 3, seed=1).genome, 1.0)
    (d / "metrics.csv").write_text(",".join(METRIC_FIELDS) + "\n"
                                   + ",".join(["1"] * len(METRIC_FIELDS)) + "\n")
    assert cli.main(["report", str(d)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [f"fitness plot: {d / 'fitness.png'}", f"picture: {d / 'network.png'}"]
    assert (d / "network.png").read_bytes()[:8] == PNG
