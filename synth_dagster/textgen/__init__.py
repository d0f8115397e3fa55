"""synth_dagster.textgen: text generation with a local Hugging Face causal LM, constrained by a grammar.

Shared by the mock-data generator (`synth_dagster.mock`, JSON rows) and, later, the language-model
engine. Needs the `mock` extra (transformers, llguidance); imports neither Dagster nor the engine.
"""

from synth_dagster.textgen.constrained import *  # noqa: F403 - the public names, listed once there
from synth_dagster.textgen.constrained import __all__ as __all__
