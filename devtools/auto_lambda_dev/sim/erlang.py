"""Queueing theory for checking the simulator: Erlang C for an M/M/c queue.

Pure math; no simulation here.
"""

from __future__ import annotations

import math


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability an arrival waits, for ``servers`` and load ``a = lambda / mu``."""
    if offered_load >= servers:
        return 1.0
    term = 1.0
    total = 1.0  # k = 0
    for k in range(1, servers):
        term *= offered_load / k
        total += term
    last = term * offered_load / servers  # a^c / c!
    last *= servers / (servers - offered_load)
    return last / (total + last)


def mean_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean time in queue (before service starts) of an M/M/c queue, in seconds."""
    load = arrival_rate / service_rate
    if load >= servers:
        return math.inf
    return erlang_c(servers, load) / (servers * service_rate - arrival_rate)
