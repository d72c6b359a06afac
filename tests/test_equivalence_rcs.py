"""Large-population agreement: the engine's ensemble mean follows Random Constant Spread.

Pure uniform scanning of 100,000 hosts in the whole IPv4 space, no patching or reboots, inside
the worm's spreading days: the mean ever-infected count over an ensemble must stay within 1% of
V of the RCS solution with K = r·3600·V/2^32 at every hour.
"""

from __future__ import annotations

import numpy as np

from wormlab.engine.simulate import simulate
from wormlab.models.rcs import half_time_hours, k_per_hour, rcs_fraction
from wormlab.scenario import scenario_from_dict

V = 100_000
I0 = 100
K_PER_HOUR = 1.5
RUNS = 10


def test_ensemble_mean_stays_within_one_percent_of_rcs_every_hour():
    rate = K_PER_HOUR / k_per_hour(1.0, V)  # probes per second that give K = 1.5 per hour
    sc = scenario_from_dict({
        "name": "rcs-agreement",
        "time": {"start": "2001-07-01T00:00:00Z", "end": "2001-07-01T12:00:00Z",
                 "step_s": 1.0, "record_every_s": 3600.0},
        "internet": {"vulnerable_hosts": V},
        "worm": {"probe_rate_per_s": rate, "initial_infected": I0},
    })
    ever = np.array([simulate(sc, seed=s).timeseries["ever_infected"].to_numpy()
                     for s in range(RUNS)], dtype=float)
    hours = np.arange(ever.shape[1], dtype=float)
    K = k_per_hour(rate, V)
    model = V * rcs_fraction(hours, K, half_time_hours(K, I0 / V))
    deviation = np.abs(ever.mean(axis=0) - model) / V
    assert ever[:, -1].mean() > 0.99 * V  # the outbreak ran its course inside the window
    assert deviation.max() < 0.01, np.round(deviation, 4)
