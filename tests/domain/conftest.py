from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "c"], "age": [30, 40, 50]})


@pytest.fixture
def orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [10, 11, 12],
            "customer_id": [1, 1, 2],
            "price": [1.0, 2.0, 3.0],
            "max_price": [2.0, 3.0, 4.0],
            "status": ["new", "paid", "paid"],
            "channel": ["web", "shop", "web"],
        }
    )


@pytest.fixture
def two_tables(customers: pd.DataFrame, orders: pd.DataFrame) -> dict:
    """A valid two-table generator config (as a dict) with a context relation orders -> customers."""
    return {
        "name": "shop",
        "tables": [
            {"name": "customers", "data": customers, "primary_key": "id"},
            {
                "name": "orders",
                "data": orders,
                "primary_key": "order_id",
                "foreign_keys": [
                    {"column": "customer_id", "referenced_table": "customers", "is_context": True}
                ],
            },
        ],
    }
