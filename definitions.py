"""The demo code location: `dagster dev -w workspace.yaml` (or `dagster dev -f definitions.py`).

Synthetic NYC flights: a generator trained on a real table shipped in the package, a synthetic
dataset, model and data reports, quality checks, a sensor on the source file and a weekly
regeneration schedule. See synth_dagster/demo.py and docs/dagster.md.
"""

from synth_dagster.demo import build_definitions

defs = build_definitions()
