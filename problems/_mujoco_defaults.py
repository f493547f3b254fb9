"""Per-environment defaults of the gym: problem options, where a setting measured by
benchmarks/mujoco.py beat the general defaults (tuned on seeds 0-2 only, unchecked on
held-out seeds: docs/problems.md)."""
from __future__ import annotations

DEFAULTS = {
    # steps to return 128, seeds 0-2: fixed 192,000 / 192,000 / 912,000, running
    # 1,344,000 / 1,344,000 / 576,000
    "Swimmer-v5": {"normalize": "fixed"},
}


def with_defaults(env_id: str, options: dict) -> dict:
    """options over env_id's own defaults (the options given win)."""
    return {**DEFAULTS.get(env_id, {}), **options}
