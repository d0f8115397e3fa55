"""`synth-dagster`: the client from the command line (train, generate, list, report, mock).

Every command works on the store given by --local-dir (default: $SYNTH_DAGSTER_LOCAL_DIR or
~/.synth_dagster). Generators are named by id, id prefix or exact name.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from synth_dagster.domain import ConfigError

EXIT_ERROR = 1
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a reader that went away
LOCAL_DIR_HELP = "store folder or fsspec URL (default: $SYNTH_DAGSTER_LOCAL_DIR or ~/.synth_dagster)"


def _global_options(with_store: bool, after_command: bool) -> argparse.ArgumentParser:
    """The options valid before and after the command. After it their default is SUPPRESS, so
    that an option given before the command is not overwritten by the subcommand's default."""
    options = argparse.ArgumentParser(add_help=False)
    suppress = argparse.SUPPRESS
    if with_store:
        options.add_argument("--local-dir", default=suppress if after_command else None, help=LOCAL_DIR_HELP)
    quiet_default = suppress if after_command else False
    options.add_argument("--quiet", action="store_true", default=quiet_default, help="no progress bars")
    return options


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="synth-dagster",
        description="Train generators on tables and generate privacy-safe synthetic data.",
        parents=[_global_options(True, after_command=False)],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    after = [_global_options(True, after_command=True)]

    train = commands.add_parser(
        "train",
        parents=after,
        help="train a generator on a CSV or Parquet file",
        description="Train a generator on one table.",
    )
    train.add_argument("data", help="the table: a .csv, .csv.gz, .tsv or .parquet file")
    train.add_argument("--name", help="name of the generator (default: the file name)")
    train.add_argument(
        "--table-name", default="data", help="name of the table in the generator (default: data)"
    )
    train.add_argument(
        "--model", choices=["small", "medium", "large"], help="tabular model size (default: medium)"
    )
    train.add_argument("--max-epochs", type=float, help="stop after this many epochs")
    train.add_argument(
        "--max-epsilon", type=float, help="train with differential privacy, spending at most this ε"
    )
    train.add_argument("--max-training-time", type=float, help="stop after this many minutes")
    train.add_argument("--max-sample-size", type=int, help="train on at most this many rows")
    train.add_argument("--random-state", type=int, help="seed for reproducible results")
    train.add_argument("--no-report", action="store_true", help="skip the HTML model report")
    train.add_argument(
        "--max-accuracy-gap",
        type=float,
        help="quality check: accuracy at most this far below the holdout reference, as a fraction "
        "(default 0.10, as the Dagster checks)",
    )
    train.add_argument(
        "--max-dcr-share",
        type=float,
        help="privacy check: fails when the DCR share's 95%% interval lies above this (default 0.6)",
    )

    generate = commands.add_parser(
        "generate",
        parents=after,
        help="generate a synthetic dataset and save it",
        description="Generate synthetic rows from a trained generator and save them to a file.",
    )
    generate.add_argument("generator", metavar="GENERATOR", help="generator id, id prefix or name")
    generate.add_argument("--size", type=int, help="number of rows (default: as many as the training data)")
    generate.add_argument("--seed-file", help="CSV/Parquet file of fixed column values, one row per sample")
    generate.add_argument("--out", required=True, help="output file: .parquet, .csv or .json")
    generate.add_argument("--name", help="name of the synthetic dataset")
    generate.add_argument("--random-state", type=int, help="seed for reproducible results")
    generate.add_argument("--no-report", action="store_true", help="skip the HTML data report")

    listing = commands.add_parser(
        "list",
        parents=after,
        help="list generators, synthetic datasets or connectors",
        description="List records in the store.",
    )
    listing.add_argument(
        "what",
        nargs="?",
        default="generators",
        choices=["generators", "synthetic-datasets", "connectors"],
        help="what to list (default: generators)",
    )
    listing.add_argument("--status", help="only this status (e.g. DONE, FAILED)")
    listing.add_argument("--search", help="only names or descriptions containing this text")
    listing.add_argument("--limit", type=int, help="at most this many entries")

    report = commands.add_parser(
        "report",
        parents=after,
        help="save the model report of a generator",
        description="Save the HTML model reports of a generator as a ZIP file.",
    )
    report.add_argument("generator", metavar="GENERATOR", help="generator id, id prefix or name")
    report.add_argument(
        "--out",
        help="a ZIP file (a name ending in .zip) or a folder (an existing folder, a path ending in /, "
        "or any other name; created if missing) to save generator-<id>-reports.zip in "
        "(default: the working folder)",
    )
    _mock_parser(commands)
    return parser


def _mock_parser(commands: Any) -> None:
    mock = commands.add_parser(
        "mock",
        parents=[_global_options(False, after_command=True)],
        help="generate mock data from a YAML/JSON specification with an LLM",
        description="Generate mock tables from a specification (docs/mock.md) and write one file per table.",
    )
    mock.add_argument("spec", help="the specification: a .yaml, .yml or .json file of tables")
    mock.add_argument("--out", required=True, help="output folder")
    mock.add_argument(
        "--format", choices=["parquet", "csv"], default="parquet", help="file format (default: parquet)"
    )
    mock.add_argument("--sample-size", type=int, help="rows per subject table (default: the spec's, else 4)")
    mock.add_argument("--model", help="LiteLLM model string or a local model folder (default: the spec's)")
    mock.add_argument("--api-base", help="an OpenAI-compatible endpoint, e.g. http://localhost:8000/v1")
    mock.add_argument("--n-workers", type=int, default=10, help="concurrent LLM calls (default: 10)")
    mock.add_argument("--random-state", type=int, help="seed for reproducible batches")


def _find_generator(client: Any, key: str) -> Any:
    from synth_dagster.sdk.errors import NotFoundError

    try:
        return client.generators.get(key)
    except NotFoundError:
        pass
    matches = [g for g in client.generators.list() if g.id.startswith(key) or g.name == key]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFoundError(f"no generator with id, id prefix or name {key!r}; see `synth-dagster list`")
    ids = ", ".join(f"{g.id} ({g.name})" for g in matches)
    raise NotFoundError(f"{key!r} matches {len(matches)} generators: {ids}; give the id")


def _train(client: Any, args: argparse.Namespace) -> None:
    from synth_dagster.sdk.frames import read_table_file

    for option, value, example in (
        ("--max-accuracy-gap", args.max_accuracy_gap, "0.10 allows 10 points"),
        ("--max-dcr-share", args.max_dcr_share, "0.6 is the default"),
    ):
        if value is not None and not 0 <= value <= 1:
            raise ConfigError(f"{option} must be a fraction between 0 and 1 ({example}), got {value:g}")
    frame = read_table_file(args.data)
    model_config: dict[str, Any] = {}
    if args.model:
        model_config["model"] = args.model
    for key in ("max_epochs", "max_training_time", "max_sample_size"):
        if getattr(args, key) is not None:
            model_config[key] = getattr(args, key)
    if args.no_report:
        model_config["enable_model_report"] = False
    if getattr(args, "max_epsilon", None) is not None:
        model_config["differential_privacy"] = {"max_epsilon": args.max_epsilon}
    table: dict[str, Any] = {"name": args.table_name, "data": frame}
    if model_config:
        table["tabular_model_configuration"] = model_config
    config = {
        "name": args.name or Path(args.data).name.split(".")[0],
        "random_state": args.random_state,
        "tables": [table],
    }
    g = client.train(config=config, progress_bar=not args.quiet)
    accuracy = f"{g.accuracy:.3f}" if g.accuracy is not None else "n/a"
    print(f"generator {g.id} ({g.name}): {g.training_status.value}, accuracy {accuracy}")
    for view in g.tables:
        if view.summary.get("epsilon") is not None:
            print(
                f"  table {view.name}: differential privacy, ε {view.summary['epsilon']:.3f} spent "
                f"(δ {view.summary['delta']:g})"
            )
    _print_gates(g, args.max_accuracy_gap, args.max_dcr_share)


def _print_gates(g: Any, max_gap: float | None, max_share: float | None) -> None:
    """The quality gates (as the Dagster checks judge them; their defaults unless given), each with
    its figures and thresholds, so that a FAILED check says by how much."""
    from synth_dagster.qa import gates

    max_gap = gates.DEFAULT_MAX_ACCURACY_GAP if max_gap is None else max_gap
    max_share = gates.DEFAULT_MAX_DCR_SHARE if max_share is None else max_share
    several = len(g.tables) > 1
    for view in g.tables:
        m = view.tabular_model_metrics
        if m is None:
            continue
        prefix = f"{view.name}: " if several else ""
        for verdict in (
            gates.judge_accuracy(m, max_gap),
            gates.judge_dcr_share(m, max_share),
        ):
            outcome = {True: "passed", False: "FAILED", None: "not judged"}[verdict.passed]
            print(f"  check {prefix}{verdict.name}: {outcome} ({verdict.text})")
        for warning in m.warnings:
            print(f"  warning {prefix}{warning}")


def _generate(client: Any, args: argparse.Namespace) -> None:
    out = Path(args.out)
    fmt = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".json": "json"}.get(out.suffix.lower())
    if fmt is None:
        raise ConfigError(f"--out must end in .parquet, .csv or .json, got {args.out!r}")
    g = _find_generator(client, args.generator)
    config: dict[str, Any] = {"random_state": args.random_state}
    if args.no_report:
        config["tables"] = [
            {"name": t.name, "configuration": {"enable_data_report": False}} for t in g.tables
        ]
    seed = args.seed_file if args.seed_file else None
    sd = client.generate(
        g, config=config, size=args.size, seed=seed, name=args.name, progress_bar=not args.quiet
    )
    frames = sd.data(return_type="dict")
    if len(frames) == 1:
        path = sd.download(out, format=fmt)
    else:  # one file per table next to the requested name
        for name, frame in frames.items():
            _write(frame, out.with_name(f"{out.stem}-{name}{out.suffix}"), fmt)
        path = out.parent
    rows = sum(len(f) for f in frames.values())
    print(f"synthetic dataset {sd.id}: {rows} rows written to {path}")


def _write(frame: Any, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        frame.to_parquet(path, index=False)
    elif fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_json(path, orient="records", date_format="iso")


def _record_row(record_id: str, status: str, accuracy: str, created: str, name: str) -> str:
    return f"{record_id:<36}  {status:<11} {accuracy:>8}  {created:<16}  {name}"


def _connector_row(connector_id: str, kind: str, access: str, name: str) -> str:
    return f"{connector_id:<36}  {kind:<20} {access:<15} {name}"


def _list(client: Any, args: argparse.Namespace) -> None:
    """One header row, then one row per record, in columns of the same widths."""
    if args.what == "connectors":
        print(_connector_row("ID", "TYPE", "ACCESS", "NAME"))
        for c in client.connectors.list(limit=args.limit, search_term=args.search):
            print(_connector_row(c.id, c.type.value, c.access_type.value, c.name or ""))
        return
    resource = client.generators if args.what == "generators" else client.synthetic_datasets
    print(_record_row("ID", "STATUS", "ACCURACY", "CREATED", "NAME"))
    for item in resource.list(limit=args.limit, status=args.status, search_term=args.search):
        status = item.training_status if args.what == "generators" else item.generation_status
        accuracy = f"{item.accuracy:.3f}" if item.accuracy is not None else "-"
        created = item.created_at.strftime("%Y-%m-%d %H:%M") if item.created_at else ""
        print(_record_row(item.id, status.value, accuracy, created, item.name or ""))


def _report_target(out: str | None) -> str | None:
    """--out as the path `reports()` takes: a ZIP file when it ends in .zip and is no folder;
    otherwise a folder (created here) that the ZIP goes into under its default name."""
    if out is None:
        return None
    path = Path(out)
    is_folder = out.endswith((os.sep, "/")) or path.is_dir() or path.suffix.lower() != ".zip"
    if not is_folder:
        return out
    if path.exists() and not path.is_dir():
        raise ConfigError(
            f"--out {out!r} is an existing file without the .zip suffix; give a folder or a name ending in .zip"
        )
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def _report(client: Any, args: argparse.Namespace) -> None:
    g = _find_generator(client, args.generator)
    path = g.reports(file_path=_report_target(args.out))
    if path is None:
        raise ConfigError(
            f"generator {g.id} has no model report (status {g.training_status.value}; "
            "reports exist for DONE generators trained with the report enabled)"
        )
    print(f"model reports of {g.id} saved to {path}")


def _mock(args: argparse.Namespace) -> int:
    """`synth-dagster mock`: no store involved. The spec file holds `tables` (and optionally
    `sample_size`, `model`); the API key comes from the provider's environment variable."""
    import yaml

    from synth_dagster import mock

    try:
        text = Path(args.spec).read_text(encoding="utf-8")
        raw = yaml.safe_load(text)  # JSON is YAML too
        if not isinstance(raw, dict):
            raise mock.MockSpecError(f"{args.spec}: expected a mapping of tables, or `tables:`")
        options = {k: raw.pop(k) for k in ("sample_size", "model") if "tables" in raw and k in raw}
        tables = raw.get("tables", raw)
        kwargs: dict[str, Any] = {"sample_size": args.sample_size or options.get("sample_size", 4)}
        model = args.model or options.get("model")
        if model:
            kwargs["model"] = model
        result = mock.generate(
            tables=tables,
            api_base=args.api_base,
            n_workers=args.n_workers,
            random_state=args.random_state,
            progress_bar=not args.quiet,
            **kwargs,
        )
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in result.frames.items():
            _write(frame, out / f"{name}.{args.format}", args.format)
    except (
        yaml.YAMLError,
        mock.MockSpecError,
        mock.MockConfigError,
        mock.MockGenerationError,
        OSError,
    ) as exc:
        print(f"synth-dagster mock: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except (KeyboardInterrupt, mock.MockCancelledError):
        print("interrupted: nothing written", file=sys.stderr)
        return 130
    counts = ", ".join(f"{n} {t}" for t, n in result.row_counts.items())
    print(f"mock data written to {out}: {counts}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # here, not at exit: a reader that went away (`| head`) surfaces below
    except BrokenPipeError:
        # the standard recipe: point stdout at devnull so that the flush at exit cannot fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "mock":  # needs no store or client
        return _mock(args)
    from synth_dagster.connectors import ConnectorError
    from synth_dagster.engine.errors import EngineInputError
    from synth_dagster.sdk import SynthClient
    from synth_dagster.sdk.errors import SynthClientError

    try:
        client = SynthClient(args.local_dir, quiet=args.quiet)
        {"train": _train, "generate": _generate, "list": _list, "report": _report}[args.command](client, args)
    except BrokenPipeError:
        raise  # not an error of the command: main() exits quietly
    except (SynthClientError, EngineInputError, ConfigError, ValidationError, ConnectorError, OSError) as exc:
        print(f"synth-dagster {args.command}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted: a job started here cancels itself", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
