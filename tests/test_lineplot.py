"""fitness.png drawn with Pillow (evornn.lineplot): round ticks, labels, broken lines."""
import numpy as np
import pytest
from PIL import Image

from evornn.lineplot import COLORS, line_plot, nice_ticks, tick_label


@pytest.mark.parametrize("lo, hi, want", [
    (-210.0, 4210.0, [0, 1000, 2000, 3000, 4000]),
    (-0.006, 0.129, [0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12]),
    (-1.3, -0.2, [-1.2, -1.0, -0.8, -0.6, -0.4, -0.2]),
    (0.0, 1.5, [0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5]),
    (99990.0, 100010.0, [99990, 99995, 100000, 100005, 100010]),
])
def test_ticks_are_round_and_cover_the_range(lo, hi, want):
    np.testing.assert_allclose(nice_ticks(lo, hi), want, atol=1e-12)


def test_tick_labels_have_the_decimals_of_their_step():
    assert [tick_label(v, 0.02) for v in (0.0, 0.04, 0.12)] == ["0.00", "0.04", "0.12"]
    assert [tick_label(v, 0.25) for v in (-1.0, -0.75)] == ["-1.00", "-0.75"]
    assert tick_label(4000.0, 1000.0) == "4000" and tick_label(2.5e7, 5e6) == "2.5e+07"


def test_a_plot_breaks_its_lines_at_non_finite_points_and_draws_one_point(tmp_path):
    x = np.arange(10.0)
    y = np.array([-np.inf, 1, 2, np.nan, 4, 5, 6, np.inf, 8, 9])
    series = [(x, y, ("best so far", 2, 1.0)), ([3.0], [7.0], ("one", 1, 1.0)),
              ([], [], ("none", 1, 0.7))]
    line_plot(tmp_path / "p.png", series, "title", "evaluations", "fitness")
    img = np.asarray(Image.open(tmp_path / "p.png").convert("RGB")).astype(int)
    assert img.shape == (400, 700, 3)
    for color in COLORS[:2]:                       # both series are drawn: their colour is there
        assert (np.abs(img - color).sum(axis=2) < 30).sum() > 20
    line_plot(tmp_path / "empty.png", [([], [], ("none", 1, 1.0))], "t", "x", "y")
    assert Image.open(tmp_path / "empty.png").size == (700, 400)
