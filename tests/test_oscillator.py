"""The CTRNN pattern generator: period and amplitude measurement, and evolving one."""
import numpy as np

from evornn.problems import oscillator as osc


def test_measure_recovers_a_sine_and_flat_rows_have_no_period():
    t = np.arange(1000) * osc.DT
    y = np.stack([0.5 + 0.2 * np.sin(2 * np.pi * t / 7.3), np.full(1000, 0.4)])
    period, amp = osc.measure(y)
    assert abs(period[0] - 7.3) < 1e-3 and abs(amp[0] - 0.4) < 1e-3
    assert np.isnan(period[1]) and amp[1] == 0
    f = osc.fitness(np.array([osc.PERIOD, 7.3, np.nan]), np.array([osc.AMPLITUDE, 0.4, 0.0]))
    assert f[0] == 0 and -2 < f[1] < 0 and f[2] == -3


def test_an_oscillator_evolves_to_within_5_percent_of_the_target_period(tmp_path):
    from evornn.run import RunConfig, start
    cfg = RunConfig(problem="oscillator", arch="ctrnn", hidden=3, optimizer="xnes", popsize=16,
                    sigma0=3.0, max_evals=4000, seed=1)
    _, s = start(cfg, tmp_path, quiet=True)
    assert s["solved"] and s["evaluations"] <= 4000              # measured: 1,056
    assert abs(s["period"] / osc.PERIOD - 1) < 0.05 and abs(s["amplitude"] / osc.AMPLITUDE - 1) < 0.05
