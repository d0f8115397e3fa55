"""A plain-language reading of the distance (privacy) figures."""

from __future__ import annotations

import math

from synth_dagster.domain.metrics import Distances

# A share beyond 3 standard errors of a fair coin is more than chance explains.
Z = 3.0


def chance_limit(n: int) -> float:
    """Largest DCR share that a generator as good as fresh real data plausibly shows for n records."""
    return 0.5 + Z * math.sqrt(0.25 / max(n, 1))


def privacy_reading(d: Distances, n: int) -> str:
    """One paragraph, plain language, about copies and closeness to the training records."""
    if d.ims_training is None or d.dcr_training is None:
        return "No distance figures were computed."
    copies = f"{d.ims_training:.1%} of the synthetic records are exact copies of a training record"
    if d.dcr_share is None or d.ims_holdout is None or d.dcr_holdout is None or d.ims_trn_hol is None:
        return (
            f"Of {n:,} sampled records, {copies}, and a synthetic record lies on average "
            f"{d.dcr_training:.3f} from its closest training record (0 means identical; two records "
            "that differ in one category are 1 apart). Without a holdout there is no reference for "
            "what chance alone produces: the generator's model report compares these figures with "
            "records the generator never saw."
        )
    limit = chance_limit(n)
    excess_copies = d.ims_training - max(d.ims_holdout, d.ims_trn_hol)
    text = (
        f"Of {n:,} sampled records, {copies}, while {d.ims_holdout:.1%} match a record the generator "
        f"never saw (holdout), and {d.ims_trn_hol:.1%} of training records reappear in the holdout, "
        "which is how often identical records occur naturally in this data. "
        f"A synthetic record lies on average {d.dcr_training:.3f} from its closest training record "
        f"and {d.dcr_holdout:.3f} from its closest holdout record (training records themselves lie "
        f"{d.dcr_trn_hol:.3f} from the holdout). {d.dcr_share:.1%} of synthetic records are closer "
        "to the training data than to the holdout. "
    )
    if d.dcr_share <= limit and excess_copies <= Z * math.sqrt(max(d.ims_holdout, 1.0 / n) / n):
        text += (
            f"That is within what chance produces at this sample size (up to {limit:.1%}): the synthetic "
            "records are no closer to the training records than to records the generator never saw, "
            "so there is no sign that it memorized or copied individual training records."
        )
    else:
        text += (
            f"That is more than chance explains at this sample size (it would stay below {limit:.1%} "
            "with exact-copy rates like the holdout's): the synthetic records sit measurably closer to "
            "the training records than to unseen ones, a sign that the generator reproduces individual "
            "training records. Train for fewer epochs, enable value protection or differential privacy "
            "before sharing this data."
        )
    return text


def dp_reading(epsilon: float, delta: float) -> str:
    """One paragraph, plain language, about what a differential-privacy guarantee of (ε, δ) means."""
    odds = math.exp(epsilon)
    return (
        f"This generator was trained with differential privacy and spent ε = {epsilon:.2f} at "
        f"δ = {delta:g}. In plain words: whether or not any one person's record (in a sequence table, "
        f"any one subject's records) was in the training data, the generator and everything drawn "
        f"from it come out with probabilities that differ by a factor of at most e^ε ≈ {odds:.1f}, "
        f"except with probability δ. So no one looking at the synthetic data, whatever else they "
        f"know, can tell with much more confidence than a guess whether a given person was in the "
        f"training data: at ε = {epsilon:.2f}, a membership guess that starts at even odds ends at "
        f"{odds / (1 + odds):.0%} at most. Smaller ε is stronger; ε spent counts the value ranges and "
        f"categories chosen from the data as well as the training steps."
    )
