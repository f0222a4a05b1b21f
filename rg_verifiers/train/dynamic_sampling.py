"""Dynamic sampling (DAPO; prime-rl calls it online difficulty filtering), shared by both backends.

A group whose rollouts all scored alike has zero advantage for every rollout: it costs a training step's
compute and teaches nothing. With `training.dynamic_sampling.enabled`, such groups are dropped after
scoring and replaced by groups generated from fresh prompts, for at most `max_extra_rounds` extra
generation rounds per step. What is left short after the last round is logged (`shortfall_groups`),
never padded with filtered groups: a filtered group never reaches the loss.

The backends keep their own generation; this module holds what they share: which groups to keep,
and the step's metrics (`dynamic_sampling/*` in metrics.jsonl and the trackers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

# rewards closer than this are "the same": float sums of weighted rewards are not bit-exact
SPREAD_TOLERANCE = 1e-6


def has_spread(rewards: Sequence[float], tol: float = SPREAD_TOLERANCE) -> bool:
    scored = [r for r in rewards if r == r]  # NaN: a rollout no reward could score (zero advantage in TRL)
    return len(scored) > 1 and max(scored) - min(scored) > tol


def groups_with_spread(rewards: Sequence[float], group_size: int) -> list[bool]:
    """For consecutive groups of `group_size` rewards: does the group carry a learning signal?"""
    if len(rewards) % group_size:
        raise ValueError(f"{len(rewards)} rewards do not split into groups of {group_size}")
    return [has_spread(rewards[i:i + group_size]) for i in range(0, len(rewards), group_size)]


@dataclass
class StepStats:
    """One optimizer step's generation: groups wanted, generated, kept, and the rounds it took."""

    groups_wanted: int
    group_size: int
    rounds: int = 0
    groups_generated: int = 0
    groups_kept: int = 0
    groups_filtered: int = 0  # zero spread; groups with spread beyond the batch's room are neither

    def add_round(self, kept: int, generated: int, filtered: int) -> None:
        self.rounds += 1
        self.groups_generated += generated
        self.groups_kept += kept
        self.groups_filtered += filtered

    @property
    def missing(self) -> int:
        return max(0, self.groups_wanted - self.groups_kept)

    def metrics(self) -> dict[str, float]:
        trained = min(self.groups_kept, self.groups_wanted)
        return {
            # share of the groups generated this step that were dropped for zero reward spread
            "dynamic_sampling/filtered_share": self.groups_filtered / self.groups_generated if self.groups_generated else 0.0,
            "dynamic_sampling/generation_rounds": float(self.rounds),
            # rollouts generated per rollout that reaches the loss (1.0 = nothing wasted)
            "dynamic_sampling/rollouts_per_trained": self.groups_generated / trained if trained else float(self.groups_generated),
            "dynamic_sampling/shortfall_groups": float(self.missing),
        }
