"""Config-driven training and generation over the tables of a generator.

The engine's entry point for the sdk: `train_generator` learns every table of a GeneratorConfig
into a workspace folder, `TrainedGenerator.generate` draws a synthetic dataset. Each table is
learned and drawn by its model family (`families`, `registry`):

- Subject tables (no context foreign key) are flat tables (`flat_family`, `FlatGenerator`).
- A table under a context foreign key is a sequence table (`sequence_family`, `SequenceGenerator`):
  its rows per parent row are one sequence, with the parent's row (and its ancestors') as context.
  How many rows each parent has is a column of the parent's own model (`__seqlen__<child>`), so
  lengths, zero included, follow the parent's other columns and get its value protection.
- A lookup table is kept as it is (`lookup_family`).
- A table learns the columns of the parent rows its non-context foreign keys reference, and its
  rows get the generated parents they want (`draws`, `parents`; a flat table is then drawn again
  for them). A key into a lookup table is learned as the key itself; its values too rare for value
  protection get a `KeyMatcher`, which picks a fitting parent row for a child row
  (`foreign_keys`). A nullable key is modelled as a `__has__<column>` flag (`frames`).
Tables are trained and generated parents first (`relations.prepare_relations`). What a workspace
holds per table besides its model is the typed `roles.TableRoles` record.
"""

from synth_dagster.engine.multitable.generation import TrainedGenerator
from synth_dagster.engine.multitable.summary import MANIFEST, TableSummary
from synth_dagster.engine.multitable.training import train_generator

__all__ = ["MANIFEST", "TableSummary", "TrainedGenerator", "train_generator"]
