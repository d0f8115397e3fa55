"""Differential privacy: DP-SGD training with an ε budget (`dpsgd`), its accountant (`accounting`);
DP value protection is `encoding.private`. See docs/privacy.md for what the guarantee covers."""

from synth_dagster.engine.privacy.accounting import PrivacyLedger
from synth_dagster.engine.privacy.settings import DPSettings

__all__ = ["DPSettings", "PrivacyLedger"]
