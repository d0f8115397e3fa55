"""The privacy ledger of one model: the value-protection ε and the DP-SGD steps taken, accounted
with opacus' RDP accountant. It is saved as JSON with the model, so a continued training
(`clone("continue")`) keeps counting where the first one stopped."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from opacus.accountants import RDPAccountant


@dataclass
class PrivacyLedger:
    """ε spent by one model. `history`: (noise multiplier, sample rate, steps) per training run."""

    delta: float  # the δ of the whole guarantee (analysis + training)
    training_delta: float
    value_protection_epsilon: float = 0.0
    history: list[list[float]] = field(default_factory=list)

    def _accountant(self, extra: tuple[float, float, int] | None = None) -> RDPAccountant:
        accountant = RDPAccountant()
        accountant.history = [(float(s), float(q), int(n)) for s, q, n in self.history]
        if extra is not None and extra[2] > 0:
            accountant.history.append(extra)
        return accountant

    def training_epsilon(self, extra: tuple[float, float, int] | None = None) -> float:
        """ε of the training steps (plus `extra` ones, not yet taken) at `training_delta`."""
        accountant = self._accountant(extra)
        if not accountant.history:
            return 0.0
        return float(accountant.get_epsilon(self.training_delta))

    @property
    def epsilon(self) -> float:
        """ε spent in all: value protection plus training (sequential composition)."""
        return self.value_protection_epsilon + self.training_epsilon()

    @property
    def steps(self) -> int:
        return int(sum(n for _, _, n in self.history))

    def steps_within(self, budget: float | None, noise: float, rate: float, limit: int) -> int:
        """The most steps (≤ limit) of (noise, rate) that keep the training ε within `budget`."""
        if budget is None:
            return limit
        if noise <= 0 or self.training_epsilon((noise, rate, 1)) > budget:
            return 0
        low, high = 1, limit  # low fits; find the largest that fits
        if self.training_epsilon((noise, rate, high)) <= budget:
            return high
        while high - low > 1:
            mid = (low + high) // 2
            if self.training_epsilon((noise, rate, mid)) <= budget:
                low = mid
            else:
                high = mid
        return low

    def record(self, noise: float, rate: float, steps: int) -> None:
        if steps > 0:
            self.history.append([float(noise), float(rate), int(steps)])

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"epsilon": self.epsilon}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PrivacyLedger:
        return cls(
            delta=float(data["delta"]),
            training_delta=float(data["training_delta"]),
            value_protection_epsilon=float(data.get("value_protection_epsilon", 0.0)),
            history=[list(h) for h in data.get("history", [])],
        )
