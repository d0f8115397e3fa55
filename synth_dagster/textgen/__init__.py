"""synth_dagster.textgen: text generation with a local Hugging Face causal LM, constrained by a grammar.

Shared by the mock-data generator (`synth_dagster.mock`, JSON rows) and, later, the language-model
engine. Needs the `mock` extra (transformers, llguidance); imports neither Dagster nor the engine.
"""

from synth_dagster.textgen.constrained import (
    CausalLM,
    GrammarError,
    generate_constrained,
    is_local_model,
    load_causal_lm,
)

__all__ = ["CausalLM", "GrammarError", "generate_constrained", "is_local_model", "load_causal_lm"]
