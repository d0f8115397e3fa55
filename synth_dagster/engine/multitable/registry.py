"""Which model family learns a table, and the families by kind."""

from __future__ import annotations

from synth_dagster.domain import SourceTableConfig
from synth_dagster.engine.multitable.families import ModelFamily
from synth_dagster.engine.multitable.flat_family import FlatFamily
from synth_dagster.engine.multitable.language_family import WithLanguage
from synth_dagster.engine.multitable.lookup_family import LookupFamily
from synth_dagster.engine.multitable.roles import TableKind
from synth_dagster.engine.multitable.sequence_family import SequenceFamily

FAMILIES: dict[TableKind, ModelFamily] = {
    # tables with LANGUAGE_* columns add a language model to their tabular model
    "flat": WithLanguage(FlatFamily()),
    "sequence": WithLanguage(SequenceFamily()),
    "lookup": LookupFamily(),
}


def family_kind(table: SourceTableConfig) -> TableKind:
    """The family that learns a table: lookup tables are kept, context children are sequences."""
    if table.is_lookup:
        return "lookup"
    return "sequence" if table.context_foreign_key is not None else "flat"


def family(kind: TableKind) -> ModelFamily:
    return FAMILIES[kind]
