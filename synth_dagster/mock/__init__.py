"""synth_dagster.mock: coherent multi-table mock data from a specification and prompts, by an LLM.

    from synth_dagster import mock

    data = mock.sample(tables={...}, sample_size=10, model="openai/gpt-5-nano")

`model` is a LiteLLM model string (any provider; `api_base` for an OpenAI-compatible server) or
the folder of a local Hugging Face causal LM, which generates offline under a JSON grammar. Imports
neither Dagster nor the engine. See docs/mock.md.
"""

from synth_dagster.mock.errors import (
    MockCancelledError,
    MockConfigError,
    MockGenerationError,
    MockSpecError,
)
from synth_dagster.mock.generate import MockResult, generate, sample
from synth_dagster.mock.plan import table_order
from synth_dagster.mock.spec import ColumnSpec, ForeignKeySpec, MockSpec, TableSpec, parse_spec

__all__ = [
    "ColumnSpec",
    "ForeignKeySpec",
    "MockCancelledError",
    "MockConfigError",
    "MockGenerationError",
    "MockResult",
    "MockSpec",
    "MockSpecError",
    "TableSpec",
    "generate",
    "parse_spec",
    "sample",
    "table_order",
]
