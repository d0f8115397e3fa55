"""synth_dagster: privacy-safe synthetic data as Dagster assets."""

__version__ = "0.1.0"
