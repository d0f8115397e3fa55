"""The bad-input and attack corpus: what an outsider hands the package, and what must come back.

Every case ends in one of the package's own errors (`SynthDagsterError`) whose message names what is
wrong and says how to fix it, or in a documented success. Cases cover configs, degenerate data,
tampered and hostile ZIPs, names and synthetic configs; hostile SQL on the real servers is in
tests/connectors/test_query_hostile.py (74 cases per server, with checks
on the servers that nothing happened); a sample of it runs here through the client.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import FAST, write_zip, zip_members

from synth_dagster import SynthDagsterError
from synth_dagster.sdk import Generator, SynthClient, archive
from synth_dagster.sdk.archive import sha256_of

MANIFEST = "synth_dagster_generator.json"


@dataclass
class Ctx:
    client: SynthClient
    generator: Generator
    export: Path
    df: pd.DataFrame
    tmp: Path


@dataclass
class Case:
    id: str
    action: Callable[[Ctx], Any]
    match: str  # a regex the message must match: the field or thing, and the fix


def _table(df: pd.DataFrame, **extra: Any) -> dict[str, Any]:
    return {"name": "t", "data": df, "tabular_model_configuration": FAST, **extra}


def create(df: pd.DataFrame | None = None, **table: Any) -> Callable[[Ctx], Any]:
    def run(ctx: Ctx) -> Any:
        return ctx.client.generators.create({"tables": [_table(ctx.df if df is None else df, **table)]})

    return run


def create_config(config: dict[str, Any]) -> Callable[[Ctx], Any]:
    return lambda ctx: ctx.client.generators.create(config)


def model(**fields: Any) -> Callable[[Ctx], Any]:
    return create(tabular_model_configuration={**FAST, **fields})


def probe(**kwargs: Any) -> Callable[[Ctx], Any]:
    return lambda ctx: ctx.client.probe(ctx.generator, **kwargs)


def generate(config: dict[str, Any]) -> Callable[[Ctx], Any]:
    return lambda ctx: ctx.client.generate(ctx.generator, config=config, start=False)


# ---------------------------------------------------------------- tampered ZIPs


def _rezip(ctx: Ctx, change: Callable[[dict[str, bytes]], None], rehash: bool = True) -> Path:
    """The export with members changed by `change`; the manifest's sizes and hashes follow when
    `rehash` (what an attacker who edits the file would do)."""
    members = zip_members(ctx.export)
    change(members)
    if rehash:
        manifest = json.loads(members[MANIFEST])
        manifest["files"] = {
            n: {"size": len(b), "sha256": sha256_of(b)} for n, b in members.items() if n != MANIFEST
        }
        members[MANIFEST] = json.dumps(manifest).encode()
    return write_zip(ctx.tmp / f"tampered-{uuid.uuid4().hex[:6]}.zip", members)


def import_changed(change: Callable[[dict[str, bytes]], None], rehash: bool = True) -> Callable[[Ctx], Any]:
    return lambda ctx: ctx.client.generators.import_from_file(_rezip(ctx, change, rehash))


def import_members(members: dict[str, bytes]) -> Callable[[Ctx], Any]:
    return lambda ctx: ctx.client.generators.import_from_file(write_zip(ctx.tmp / "made.zip", members))


def _meta_name(members: dict[str, bytes]) -> str:
    return next(n for n in members if n.endswith("/meta.json"))


def _edit_json(name_of: Callable[[dict[str, bytes]], str], edit: Callable[[Any], Any]):
    def change(members: dict[str, bytes]) -> None:
        name = name_of(members)
        members[name] = json.dumps(edit(json.loads(members[name]))).encode()

    return change


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda d: {**d, key: value}


def _truncate(suffix: str, keep: float = 0.5):
    def change(members: dict[str, bytes]) -> None:
        name = next(n for n in members if n.endswith(suffix))
        members[name] = members[name][: int(len(members[name]) * keep)]

    return change


def _add(name: str, data: bytes):
    return lambda members: members.__setitem__(name, data)


def _drop(suffix: str):
    def change(members: dict[str, bytes]) -> None:
        del members[next(n for n in members if n.endswith(suffix))]

    return change


def _manifest(**fields: Any) -> bytes:
    base = {"format": 2, "synth_dagster_version": "0", "exported_at": "now", "generator": {"config": {}}}
    return json.dumps({**base, **fields}).encode()


def with_limit(name: str, value: int, action: Callable[[Ctx], Any]) -> Callable[[Ctx], Any]:
    def run(ctx: Ctx) -> Any:
        old = getattr(archive, name)
        setattr(archive, name, value)
        try:
            return action(ctx)
        finally:
            setattr(archive, name, old)

    return run


def _bomb(ctx: Ctx) -> Any:
    path = ctx.tmp / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr(MANIFEST, _manifest(files={}))
        out.writestr("model/generator.json", b"\0" * (64 << 20))
    return ctx.client.generators.import_from_file(path)


def _pickle_payload() -> bytes:
    """A pickle that would create a file when loaded (what the old FixedCombinations file allowed)."""
    import pickle

    class Payload:
        def __reduce__(self):  # noqa: D105
            return (open, ("/tmp/synth-dagster-pwned", "w"))

    return pickle.dumps(Payload())


def _not_zip(ctx: Ctx) -> Any:
    (ctx.tmp / "x.zip").write_text("hello")
    return ctx.client.generators.import_from_file(ctx.tmp / "x.zip")


def _clone(**kwargs: Any) -> Callable[[Ctx], Any]:
    return lambda ctx: ctx.generator.clone("continue", **kwargs)


def _frame(**columns: Any) -> pd.DataFrame:
    return pd.DataFrame(columns)


GOOD = pd.DataFrame({"a": np.arange(60) % 7, "b": list("xyz") * 20})
CASES = [
    # --- configs
    Case("typo-field", model(max_epoch=3), r"max_epoch: is not a field here.*spelling"),
    Case("negative-epochs", model(max_epochs=-1), r"max_epochs"),
    Case("unknown-model", model(model="MOSTLY_AI/Huge"), r"not a tabular model.*MOSTLY_AI/Small"),
    Case(
        "dp-budget-below-value-protection",
        model(differential_privacy={"max_epsilon": 0.5}),
        r"max_epsilon \(0.5\) must exceed value_protection_epsilon",
    ),
    Case(
        "dp-without-noise",
        model(differential_privacy={"noise_multiplier": 0}),
        r"noise_multiplier: 0 adds no noise",
    ),
    Case("compute-refused", model(compute="gpu-1"), r"compute.*remove the field"),
    Case(
        "language-model-unknown",
        create(
            columns=[{"name": "a"}, {"name": "b", "model_encoding_type": "LANGUAGE_TEXT"}],
            language_model_configuration={"model": "no-such/model"},
        ),
        r"language_model_configuration.model: 'no-such/model' is no local folder; the model hub cannot",
    ),
    Case(
        "relative-on-flat",
        create(
            _frame(d=pd.date_range("2020-01-01", periods=60), b=["x"] * 60),
            columns=[{"name": "d", "model_encoding_type": "TABULAR_DATETIME_RELATIVE"}, {"name": "b"}],
        ),
        r"TABULAR_DATETIME_RELATIVE.*no context foreign key.*TABULAR_DATETIME",
    ),
    Case("no-tables", create_config({"tables": []}), r"no tables.*add at least one"),
    Case("no-data", create_config({"tables": [{"name": "t"}]}), r"has no data.*DataFrame.*connector"),
    Case("data-not-frame", create_config({"tables": [{"name": "t", "data": 42}]}), r"DataFrame, got int"),
    Case(
        "duplicate-table",
        create_config({"tables": [_table(GOOD), _table(GOOD)]}),
        r"used by 2 tables.*rename",
    ),
    Case("pk-unknown", create(primary_key="nope"), r"primary_key 'nope'.*existing column"),
    Case(
        "pk-is-fk",
        create_config(
            {
                "tables": [
                    _table(
                        GOOD,
                        primary_key="a",
                        foreign_keys=[{"column": "a", "referenced_table": "t", "is_context": False}],
                    )
                ]
            }
        ),
        r"both the primary_key and a foreign key",
    ),
    Case(
        "fk-missing-table",
        create(foreign_keys=[{"column": "a", "referenced_table": "ghost", "is_context": False}]),
        r"'ghost'.*not in this generator config",
    ),
    Case(
        "fk-no-pk",
        create_config(
            {
                "tables": [
                    _table(GOOD, foreign_keys=[{"column": "a", "referenced_table": "u", "is_context": True}]),
                    {**_table(GOOD), "name": "u"},
                ]
            }
        ),
        r"no primary_key; set primary_key on 'u'",
    ),
    Case(
        "two-context-keys",
        create_config(
            {
                "tables": [
                    _table(
                        GOOD,
                        foreign_keys=[
                            {"column": "a", "referenced_table": "u", "is_context": True},
                            {"column": "b", "referenced_table": "u", "is_context": True},
                        ],
                    ),
                    {**_table(_frame(k=[1, 2]), primary_key="k"), "name": "u"},
                ]
            }
        ),
        r"at most one context foreign key",
    ),
    Case(
        "context-cycle",
        create_config(
            {
                "tables": [
                    {
                        **_table(_frame(k=[1], f=[1]), primary_key="k"),
                        "name": "a",
                        "foreign_keys": [{"column": "f", "referenced_table": "b", "is_context": True}],
                    },
                    {
                        **_table(_frame(k=[1], f=[1]), primary_key="k"),
                        "name": "b",
                        "foreign_keys": [{"column": "f", "referenced_table": "a", "is_context": True}],
                    },
                ]
            }
        ),
        r"cycle.*set is_context=False",
    ),
    Case(
        "constraint-column",
        create_config(
            {
                "tables": [_table(GOOD)],
                "constraints": [
                    {
                        "type": "Inequality",
                        "config": {"table_name": "t", "low_column": "a", "high_column": "zz"},
                    }
                ],
            }
        ),
        r"'zz' is not a column of table 't'",
    ),
    Case(
        "fixed-one-column",
        create_config(
            {
                "tables": [_table(GOOD)],
                "constraints": [
                    {"type": "FixedCombinations", "config": {"table_name": "t", "columns": ["a"]}}
                ],
            }
        ),
        r"at least 2 columns",
    ),
    Case(
        "table-control-chars",
        create_config({"tables": [{**_table(GOOD), "name": "t\x00x"}]}),
        r"control characters.*remove",
    ),
    Case("column-control-chars", create(_frame(**{"a\nb": [1, 2, 3] * 20})), r"control characters.*remove"),
    # --- degenerate data
    Case("zero-rows", create(GOOD.head(0)), r"empty \(0 rows\)"),
    Case("zero-columns", create(pd.DataFrame(index=range(3))), r"has no columns \(3 rows"),
    Case(
        "duplicate-columns",
        create(pd.DataFrame([[1, 2]] * 20, columns=["a", "a"])),
        r"(several|2) columns named 'a'|more than once",
    ),
    Case("inf", create(_frame(x=[1.0, np.inf] * 30)), r"'x' holds 30 infinite values.*replace"),
    Case("minus-inf", create(_frame(x=[1.0, -np.inf, np.nan] * 20)), r"infinite values.*replace"),
    Case("bytes", create(_frame(x=[b"\xff\xfe", b"ab"] * 30)), r"'x' holds raw bytes.*decode"),
    Case("all-null", create(_frame(x=[None] * 30, y=[1] * 30)), r"'x' holds only empty values.*drop"),
    Case(
        "duplicate-pk",
        create(_frame(k=[1, 1, 2] * 10, v=[1, 2, 3] * 10), primary_key="k"),
        r"primary key 'k' has 28 duplicated values \(e\.g\. 1, 2\).*unique",
    ),
    Case(
        "null-pk", create(_frame(k=[1, None, 3] * 10, v=[1, 2, 3] * 10), primary_key="k"), r"empty in 10 rows"
    ),
    Case(
        "path-missing", create_config({"tables": [{"name": "t", "data": "/nowhere/x.csv"}]}), r"no such file"
    ),
    Case(
        "long-garbage-string",
        create_config({"tables": [{"name": "t", "data": "Q" * 100_000}]}),
        r"^(?!.*Q{200}).*no such file",
    ),
    # --- synthetic configs
    Case("size-zero", probe(size=0), r"size must be a positive integer"),
    Case("size-bool", probe(size=True), r"size must be a positive integer"),
    Case("size-unknown-table", probe(size={"ghost": 3}), r"tables \['ghost'\].*does not have"),
    Case("seed-unknown-column", probe(seed=pd.DataFrame({"nope": [1]})), r"nope"),
    Case(
        "seed-duplicate-columns",
        probe(seed=pd.DataFrame([[30, 31]], columns=["age", "age"])),
        r"several columns named \['age'\]",
    ),
    Case(
        "seed-connector",
        generate({"tables": [{"name": "people", "configuration": {"sample_seed_connector_id": "made-up"}}]}),
        r"sample_seed_connector_id.*sample_seed_data",
    ),
    Case("dataset-compute", generate({"compute": "gpu"}), r"compute.*remove the field"),
    Case("probe-compute", probe(config={"compute": "gpu"}), r"compute.*remove the field"),
    Case(
        "temperature-high",
        probe(config={"tables": [{"name": "people", "configuration": {"sampling_temperature": 9}}]}),
        r"sampling_temperature",
    ),
    Case(
        "rebalance-sum",
        generate(
            {
                "tables": [
                    {
                        "name": "people",
                        "configuration": {
                            "rebalancing": {"column": "city", "probabilities": {"Graz": 0.9, "Linz": 0.9}}
                        },
                    }
                ]
            }
        ),
        r"probabilities|sum",
    ),
    Case(
        "seed-base64-garbage",
        probe(config={"tables": [{"name": "people", "configuration": {"sample_seed_dict": "not base64!"}}]}),
        r"base64",
    ),
    # --- clone without the rows it needs
    Case("clone-needs-data", _clone(), r"pass them again: g\.clone\(\.\.\., data=df\)"),
    Case("clone-wrong-table", _clone(data={"ghost": GOOD}), r"tables \['ghost'\] that need no data"),
    Case("clone-wrong-columns", _clone(data=GOOD), r"has columns \['a', 'b'\].*same columns"),
    # --- hostile and broken ZIPs
    Case("import-not-zip", _not_zip, r"not a ZIP file"),
    Case(
        "import-missing",
        lambda ctx: ctx.client.generators.import_from_file(ctx.tmp / "none.zip"),
        r"no generator file",
    ),
    Case("import-no-manifest", import_members({"a.json": b"{}"}), r"no synth_dagster_generator\.json"),
    Case(
        "import-traversal",
        import_members({MANIFEST: _manifest(files={}), "model/../../x": b"x"}),
        r"unsafe path",
    ),
    Case("import-absolute", import_members({MANIFEST: _manifest(files={}), "/etc/x": b"x"}), r"unsafe path"),
    Case(
        "import-backslash",
        import_members({MANIFEST: _manifest(files={}), "model\\..\\x": b"x"}),
        r"unsafe path",
    ),
    Case(
        "import-format-1",
        import_members({MANIFEST: json.dumps({"format": 1}).encode()}),
        r"format 1.*export it again",
    ),
    Case("import-manifest-not-json", import_members({MANIFEST: b"{nope"}), r"not JSON"),
    Case(
        "import-manifest-schema",
        import_members({MANIFEST: json.dumps({"format": 2}).encode()}),
        r"not valid \(.*generator: Field required",
    ),
    Case("import-bomb", _bomb, r"ZIP bomb"),
    Case(
        "import-member-too-large",
        with_limit("MAX_MEMBER_BYTES", 1000, lambda ctx: ctx.client.generators.import_from_file(ctx.export)),
        r"MAX_MEMBER_BYTES",
    ),
    Case(
        "import-too-many",
        with_limit("MAX_MEMBERS", 2, lambda ctx: ctx.client.generators.import_from_file(ctx.export)),
        r"MAX_MEMBERS",
    ),
    Case(
        "import-total-too-large",
        with_limit(
            "MAX_UNPACKED_BYTES", 10_000, lambda ctx: ctx.client.generators.import_from_file(ctx.export)
        ),
        r"MAX_UNPACKED_BYTES",
    ),
    Case(
        "import-archive-too-large",
        with_limit(
            "MAX_ARCHIVE_BYTES", 10_000, lambda ctx: ctx.client.generators.import_from_file(ctx.export)
        ),
        r"MAX_ARCHIVE_BYTES",
    ),
    Case(
        "import-unlisted-member",
        import_changed(_add("model/extra.json", b"{}"), rehash=False),
        r"does not list",
    ),
    Case(
        "import-truncated-listing", import_changed(_drop("model.pt"), rehash=False), r"lacks files.*truncated"
    ),
    Case(
        "import-altered-no-rehash",
        import_changed(_edit_json(_meta_name, _set("n_training_rows", 7)), rehash=False),
        r"hash|bytes, its manifest says",
    ),
    Case(
        "import-meta-broken",
        import_changed(_edit_json(_meta_name, _set("plans", "oops"))),
        r"broken or were altered",
    ),
    Case("import-meta-truncated", import_changed(_truncate("/meta.json")), r"broken or were altered"),
    Case("import-weights-truncated", import_changed(_truncate("model.pt")), r"broken or were altered"),
    Case(
        "import-generator-json",
        import_changed(_edit_json(lambda m: "model/generator.json", _set("tables", 5))),
        r"broken or were altered",
    ),
    Case(
        "import-pickle-member",
        import_changed(_add("model/tables/people/combinations_0.pkl", _pickle_payload())),
        r"files no generator writes",
    ),
    Case("import-foreign-file", import_changed(_add("evil.sh", b"rm -rf /")), r"never holds|does not list"),
    Case(
        "import-statistics-schema",
        import_changed(_edit_json(lambda m: "statistics.json", _set("tables", [{"x": 1}]))),
        r"statistics\.json is not valid",
    ),
]


@pytest.fixture
def ctx(trust_client, people_generator, people_export, tmp_path) -> Ctx:
    return Ctx(trust_client, people_generator, people_export, GOOD, tmp_path)


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gets_the_packages_error(case: Case, ctx: Ctx) -> None:
    before = {g.id for g in ctx.client.generators.list()}
    with pytest.raises(SynthDagsterError) as caught:
        case.action(ctx)
    message = str(caught.value)
    assert len(message) < 2_000, "an error message must not echo the input whole"
    assert re.search(case.match, message, flags=re.S), message
    # nothing was stored on the way to the error
    assert {g.id for g in ctx.client.generators.list()} == before


def test_base64_parquet_data_is_a_documented_success(ctx: Ctx) -> None:
    """A Parquet file given as base64 text (as an API passes files) is read as the table."""
    text = base64.b64encode(GOOD.to_parquet(index=False)).decode()
    g = ctx.client.generators.create({"tables": [{"name": "t", "data": text}]})
    try:
        assert g.tables[0].columns == ["a", "b"]
    finally:
        g.delete()


def test_clone_with_the_rows_again_trains_on(ctx: Ctx, people_df: pd.DataFrame) -> None:
    clone = ctx.generator.clone("continue", data=people_df)
    try:
        assert clone.training_status.value == "CONTINUE"
        assert ctx.client.store.exists(clone.paths.input_file("people"))
    finally:
        clone.delete()


# ---------------------------------------------------------------- hostile SQL through the client
# (the full corpus, with server-side checks that nothing happened, is tests/connectors/test_query_hostile.py)

SERVERS = {
    "postgres": ("POSTGRES", {"host": "127.0.0.1", "port": 5432, "username": "postgres", "database": "test"}),
    "mariadb": ("MARIADB", {"host": "127.0.0.1", "port": 3306, "username": "root"}),
}
HOSTILE_SQL = [
    ("exec-comment", "SELECT 1 AS a /*! INTO OUTFILE '/tmp/sd-corpus-x' */", r"executable comment.*remove"),
    ("mariadb-comment", "SELECT 1 AS a /*M! INTO DUMPFILE '/tmp/sd-corpus-y' */", r"executable comment"),
    ("into-outfile", "SELECT 1 AS a INTO OUTFILE '/tmp/sd-corpus-z'", r"INTO OUTFILE"),
    ("stacked", "SELECT 1; DROP TABLE t", r"one statement|exactly one"),
    ("delete", "DELETE FROM t", r"DELETE"),
    ("terminate", "SELECT pg_terminate_backend(1)", r"pg_terminate_backend"),
    ("lo-export", "SELECT lo_export(1, '/tmp/sd-corpus-w')", r"lo_export"),
    ("query-to-xml", "SELECT query_to_xml('DELETE FROM t', true, true, '')", r"query_to_xml"),
    ("read-file", "SELECT pg_read_file('/etc/hostname')", r"pg_read_file"),
    ("sleep", "SELECT SLEEP(62)", r"sleep"),
    ("pg-sleep", "SELECT pg_sleep(62)", r"pg_sleep"),
    ("load-file", "SELECT LOAD_FILE('/etc/hostname')", r"load_file"),
]


def _reachable(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("server", sorted(SERVERS))
@pytest.mark.parametrize(("case", "sql", "match"), HOSTILE_SQL, ids=[c[0] for c in HOSTILE_SQL])
def test_hostile_sql_gets_the_packages_error(
    server: str, case: str, sql: str, match: str, tmp_path: Path
) -> None:
    kind, config = SERVERS[server]
    if not _reachable(config["port"]):
        pytest.skip(f"no {server} server on 127.0.0.1:{config['port']}")
    client = SynthClient(tmp_path / "store", quiet=True)
    connector = client.connect(
        {"type": kind, "access_type": "READ_DATA", "config": {**config, "queryTimeout": 2}}
    )
    with pytest.raises(SynthDagsterError) as caught:
        connector.query(sql)
    assert re.search(match, str(caught.value), flags=re.S | re.I), str(caught.value)
