"""Fixtures of the mock tests: a tiny random causal LM built locally (no hub), and the reference's specs."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest

from synth_dagster.textgen.tiny import build_tiny_model

# before any test module imports litellm: its price list from its own copy, not the internet
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# the reference's multi-table example: customers and warehouses -> orders -> items; an order's
# warehouse is a non-context reference (no rows per warehouse, the model picks one)
REFERENCE_TABLES: dict[str, Any] = {
    "customers": {
        "prompt": "Customers of a hardware store",
        "columns": {
            "customer_id": {"prompt": "the unique id of the customer", "dtype": "string"},
            "name": {"prompt": "first name and last name of the customer", "dtype": "string"},
        },
        "primary_key": "customer_id",
    },
    "warehouses": {
        "prompt": "Warehouses of a hardware store",
        "columns": {
            "warehouse_id": {"prompt": "the unique id of the warehouse", "dtype": "string"},
            "name": {"prompt": "the name of the warehouse", "dtype": "string"},
        },
        "primary_key": "warehouse_id",
    },
    "orders": {
        "prompt": "Orders of a Customer",
        "columns": {
            "customer_id": {"prompt": "the customer id for that order", "dtype": "string"},
            "warehouse_id": {"prompt": "the warehouse id for that order", "dtype": "string"},
            "order_id": {"prompt": "the unique id of the order", "dtype": "string"},
            "text": {"prompt": "order text description", "dtype": "string"},
            "amount": {"prompt": "order amount in USD", "dtype": "float"},
        },
        "primary_key": "order_id",
        "foreign_keys": [
            {
                "column": "customer_id",
                "referenced_table": "customers",
                "prompt": "each customer has anywhere between 2 and 3 orders",
            },
            {"column": "warehouse_id", "referenced_table": "warehouses"},
        ],
    },
    "items": {
        "prompt": "Items in an Order",
        "columns": {
            "item_id": {"prompt": "the unique id of the item", "dtype": "string"},
            "order_id": {"prompt": "the order id for that item", "dtype": "string"},
            "name": {"prompt": "the name of the item", "dtype": "string"},
            "price": {"prompt": "the price of the item in USD", "dtype": "float"},
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


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A random GPT-2 (2 layers, width 32) and a byte-level BPE tokenizer, saved to a folder."""
    return str(build_tiny_model(tmp_path_factory.mktemp("tiny-lm")))


@pytest.fixture
def reference_tables() -> dict[str, Any]:
    return copy.deepcopy(REFERENCE_TABLES)
