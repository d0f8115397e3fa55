"""The engine's differential-privacy settings (mapped from `DifferentialPrivacyConfig`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DPSettings:
    """DP-SGD and DP value-protection settings of one table.

    `max_epsilon` is the whole budget: the value-protection ε is spent first, training gets the
    rest. δ is split as the reference splits it: half for the analysis (the rare-category
    thresholds are a stability-based histogram, which needs a δ), half for training; with value
    protection off, training gets all of it.
    """

    max_epsilon: float | None = 10.0
    delta: float = 1e-5
    noise_multiplier: float | None = None  # None: calibrated to the budget (privacy.dpsgd)
    max_grad_norm: float = 1.0
    value_protection_epsilon: float | None = 1.0

    @classmethod
    def from_config(cls, config: Any) -> DPSettings | None:
        """From a `DifferentialPrivacyConfig` (or None); the domain defaults fill unset fields."""
        if config is None:
            return None
        return cls(
            max_epsilon=config.max_epsilon,
            delta=config.delta if config.delta is not None else 1e-5,
            noise_multiplier=config.noise_multiplier,
            max_grad_norm=config.max_grad_norm if config.max_grad_norm is not None else 1.0,
            value_protection_epsilon=config.value_protection_epsilon,
        )

    @property
    def analysis_delta(self) -> float:
        return self.delta / 2 if self.value_protection_epsilon else 0.0

    @property
    def training_delta(self) -> float:
        return self.delta - self.analysis_delta

    @property
    def training_budget(self) -> float | None:
        """The ε training may spend: max_epsilon less the value-protection ε (None: no limit)."""
        if self.max_epsilon is None:
            return None
        return self.max_epsilon - (self.value_protection_epsilon or 0.0)
