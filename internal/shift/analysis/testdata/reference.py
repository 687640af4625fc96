#!/usr/bin/python3
"""Reference p-values for owl's shift analysis statistics, from scipy.

Run with Debian's Python (apt-get install -y python3-scipy):

    /usr/bin/python3 testdata/reference.py > testdata/reference.json

Tests read reference.json; they never run this script.
"""
import json
import sys

import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(20260409)

fisher = []
tables = [
    (0, 10, 0, 10), (1, 99, 0, 100), (5, 95, 1, 99), (10, 990, 2, 998),
    (3, 7, 7, 3), (0, 100, 5, 95), (50, 950, 20, 980), (12, 4988, 8, 4992),
    (100, 100000, 60, 100000), (2, 0, 0, 2), (7, 93, 7, 93), (1, 1, 1, 1),
    (30, 970, 5, 995), (0, 1, 0, 0),
]
for _ in range(20):
    n1, n2 = int(rng.integers(5, 3000)), int(rng.integers(5, 3000))
    p1, p2 = rng.uniform(0, 0.1), rng.uniform(0, 0.1)
    a, c = int(rng.binomial(n1, p1)), int(rng.binomial(n2, p2))
    tables.append((a, n1 - a, c, n2 - c))
for a, b, c, d in tables:
    for alt in ("greater", "less"):
        _, p = stats.fisher_exact([[a, b], [c, d]], alternative=alt)
        fisher.append({"a": a, "b": b, "c": c, "d": d, "alternative": alt, "p": float(p)})

mwu = []
def add_mwu(x, y, method):
    for alt in ("greater", "less"):
        r = stats.mannwhitneyu(x, y, alternative=alt, method=method, use_continuity=True)
        mwu.append({"x": [float(v) for v in x], "y": [float(v) for v in y],
                    "alternative": alt, "method": method,
                    "u": float(r.statistic), "p": float(r.pvalue)})

# Exact: no ties, n1 + n2 <= 60.
for n1, n2, shift in [(1, 1, 0), (2, 3, 0), (5, 5, 0.5), (6, 8, 1.0), (10, 10, 0.3),
                      (12, 7, -0.4), (20, 20, 0.8), (30, 30, 0.2), (25, 35, 1.5),
                      (3, 40, 0.0), (30, 30, 3.0)]:
    x = rng.lognormal(shift, 1, n1)
    y = rng.lognormal(0, 1, n2)
    assert len(set(x) | set(y)) == n1 + n2
    add_mwu(x, y, "exact")
# Asymptotic, with and without ties.
for n1, n2, shift, ties in [(40, 40, 0.2, False), (100, 80, 0.1, False), (30, 30, 0.5, True),
                            (200, 200, 0.0, True), (8, 9, 0.4, True), (60, 61, -0.2, False)]:
    x = rng.lognormal(shift, 1, n1)
    y = rng.lognormal(0, 1, n2)
    if ties:
        x, y = np.round(x * 2), np.round(y * 2)
    add_mwu(x, y, "asymptotic")

ztest = []
for x1, n1, x2, n2, delta in [(60, 10000, 40, 10000, 0.0), (60, 10000, 40, 10000, 0.002),
                              (500, 20000, 300, 20000, 0.005), (30, 1000, 25, 1000, 0.001),
                              (25, 1000, 30, 1000, 0.0)]:
    p1, p2 = x1 / n1, x2 / n2
    se = np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    z = (p1 - p2 - delta) / se
    ztest.append({"x1": x1, "n1": n1, "x2": x2, "n2": n2, "delta": delta,
                  "z": float(z), "p": float(stats.norm.sf(z))})

spending = []
for alpha in (0.05, 0.01):
    for t in (0.1, 0.25, 0.5, 1.0):
        spending.append({"alpha": alpha, "t": t,
                         "pocock": float(alpha * np.log(1 + (np.e - 1) * t)),
                         "obrien_fleming": float(2 * stats.norm.sf(stats.norm.isf(alpha / 2) / np.sqrt(t)))})

json.dump({"scipy": scipy.__version__, "fisher": fisher, "mannwhitneyu": mwu,
           "ztest": ztest, "spending": spending}, sys.stdout, indent=1)
print()
