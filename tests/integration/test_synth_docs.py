"""The Python examples of docs/dagster.md define loadable Dagster definitions."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg

DOC = Path(__file__).resolve().parents[2] / "docs" / "dagster.md"


def _run(code: str, namespace: dict) -> None:
    # dont_inherit: this module's `from __future__ import annotations` would turn the examples'
    # annotations into strings, which Dagster cannot resolve
    exec(compile(code, str(DOC), "exec", dont_inherit=True), namespace)


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_doc_examples_load(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = _python_blocks()
    assert len(blocks) == 5  # blocks[2], the components' resources.py: test_synth_components
    namespace: dict = {}
    _run(blocks[0], namespace)  # quick start
    dg.Definitions.validate_loadable(namespace["defs"])
    keys = {k.to_user_string() for k in namespace["defs"].resolve_asset_graph().get_all_asset_keys()}
    assert {
        "customers_generator",
        "customers_synthetic",
        "customers_model_report",
        "customers_data_report",
    } <= keys

    _run(blocks[1], namespace)  # connectors
    shop_defs = dg.Definitions(
        assets=list(namespace["orders"]), sensors=[namespace["sensor"]], resources=namespace["resources"]
    )
    dg.Definitions.validate_loadable(shop_defs)

    from synth_dagster import integration

    _run("from synth_dagster.integration import *\nimport dagster as dg\n", namespace)
    namespace["declaration"] = namespace["orders"].declaration
    _run(blocks[3], namespace)  # translator
    assert namespace["assets"].generator_key == dg.AssetKey(["synthetic", "shop_generator"])
    namespace["shop"] = namespace["orders"].declaration
    _run(blocks[4], namespace)  # hand-written bodies
    assert namespace["shop_generator"].node_def.name == "shop_train"
    assert {"synth", "prod"} <= namespace["shop_generator"].required_resource_keys
    assert {"synth", "dev"} <= namespace["shop_synthetic"].required_resource_keys
    assert set(namespace["shop_synthetic"].keys) == set(namespace["orders"].generation_keys)
    assert integration.__all__
