"""Statistics of a results table: Wilson intervals, pass@k, the interval of a difference."""

from __future__ import annotations

import math
from typing import Sequence


def wilson_interval(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion.

    `successes` may be fractional (a sum of partial-credit scores in [0, 1]); the interval is
    then the one of the mean score, which is what the accuracy column reports. Wilson rather than
    the normal approximation because it stays inside [0, 1] and is sane at 0/n and n/n.
    """
    if n <= 0:
        return (0.0, 0.0)
    p = min(max(successes / n, 0.0), 1.0)
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # the interval contains p exactly; rounding put the upper end at 0.9999999999999999 for n/n,
    # which made error bars negative and matplotlib refuse them
    return (max(0.0, min(center - half, p)), min(1.0, max(center + half, p)))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): P(at least one of k draws without replacement passes)."""
    if not (0 <= c <= n) or not (1 <= k <= n):
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    # product form of 1 - C(n-c, k) / C(n, k); avoids huge binomials
    prob_all_fail = 1.0
    for i in range(n - c + 1, n + 1):
        prob_all_fail *= 1.0 - k / i
    return 1.0 - prob_all_fail


def diff_interval(
    p_base: float, ci_base: Sequence[float], p_new: float, ci_new: Sequence[float]
) -> tuple[float, float]:
    """95% interval of `p_new - p_base` for independent samples (Newcombe 1998, method 10).

    Combines the two Wilson intervals (`ci_*`) instead of assuming normality, so it behaves
    at accuracies near 0 or 1 where fine-tuning deltas usually live.
    """
    (l_b, u_b), (l_n, u_n) = ci_base, ci_new
    d = p_new - p_base
    lo = d - math.sqrt((p_new - l_n) ** 2 + (u_b - p_base) ** 2)
    hi = d + math.sqrt((u_n - p_new) ** 2 + (p_base - l_b) ** 2)
    return (lo, hi)


def default_ks(rollouts_per_example: int) -> list[int]:
    """k values reported for pass@k: powers of two up to r, plus r itself."""
    ks, k = set(), 1
    while k <= rollouts_per_example:
        ks.add(k)
        k *= 2
    ks.add(rollouts_per_example)
    return sorted(ks)
