"""Mock data from a local Hugging Face causal LM under a JSON grammar (no server, no network).

The model is a tiny random one: its text is noise, so these tests check what the grammar and the
validator guarantee (dtypes, categories, keys, referential integrity, enrichment), not realism.
"""

from __future__ import annotations

import pandas as pd
from mock_helpers import assert_integrity

from synth_dagster import mock


def test_reference_multi_table_example(tiny_model, reference_tables):
    calls = []
    data = mock.sample(
        tables=reference_tables,
        sample_size=2,
        model=tiny_model,
        n_workers=2,
        random_state=0,
        progress_callback=lambda **kw: calls.append(kw),
    )
    assert list(data) == ["customers", "warehouses", "orders", "items"]
    assert len(data["customers"]) == 2 and len(data["warehouses"]) == 2
    per_customer = data["orders"].groupby("customer_id").size()
    assert set(per_customer.index) == set(data["customers"]["customer_id"])
    assert per_customer.between(2, 3).all()  # "each customer has anywhere between 2 and 3 orders"
    assert data["items"].groupby("order_id").size().between(1, 2).all()
    assert_integrity(data, reference_tables)
    assert list(data["orders"].columns) == list(reference_tables["orders"]["columns"])
    assert str(data["orders"]["amount"].dtype) == "float64"
    assert data["items"]["item_id"].notna().all()
    done = [c for c in calls if c["table"] == "items"][-1]
    assert done["progress"] == done["total"] == len(data["orders"]) and done["rows"] == len(data["items"])
    assert set(calls[0]) == {"table", "progress", "total", "rows", "elapsed_time"}


def test_dtypes_categories_and_values_respected(tiny_model):
    tables = {
        "guests": {
            "prompt": "Guests of an Alpine ski hotel in Austria",
            "columns": {
                "name": {"prompt": "first name and last name of the guest", "dtype": "string"},
                "gender": {"dtype": "category", "values": ["male", "female"]},
                "age": {"prompt": "age in years; min: 18, max: 80", "dtype": "integer"},
                "date_of_birth": {"prompt": "date of birth", "dtype": "date"},
                "checkin_time": {"prompt": "check in timestamp; may 2025", "dtype": "datetime"},
                "is_vip": {"prompt": "is the guest a VIP", "dtype": "boolean"},
                "price_per_night": {"prompt": "price paid per night, in EUR", "dtype": "float"},
                "room_number": {"dtype": "integer", "values": [101, 102, 103, 201]},
            },
        }
    }
    df = mock.sample(
        tables=tables,
        sample_size=6,
        model=tiny_model,
        random_state=1,
        batch_size=3,
        progress_callback=lambda **kw: None,
    )
    assert isinstance(df, pd.DataFrame) and len(df) == 6  # return_type="auto", one table
    assert set(df["gender"]) <= {"male", "female"} and isinstance(df["gender"].dtype, pd.CategoricalDtype)
    assert set(df["room_number"]) <= {101, 102, 103, 201}
    assert str(df["age"].dtype) == "Int64" and str(df["is_vip"].dtype) == "boolean"
    assert pd.api.types.is_datetime64_any_dtype(df["date_of_birth"])
    assert pd.api.types.is_datetime64_any_dtype(df["checkin_time"])
    assert df.notna().all().all()
    as_dict = mock.sample(
        tables=tables,
        sample_size=1,
        model=tiny_model,
        return_type="dict",
        progress_callback=lambda **kw: None,
    )
    assert list(as_dict) == ["guests"]


def test_integer_keys_auto_increment_and_self_reference(tiny_model):
    tables = {
        "employees": {
            "prompt": "Employees of a company",
            "columns": {
                "employee_id": {"dtype": "integer"},
                "name": {"prompt": "first name and last name of the employee", "dtype": "string"},
                "boss_id": {"dtype": "integer"},
            },
            "primary_key": "employee_id",
            "foreign_keys": [
                {
                    "column": "boss_id",
                    "referenced_table": "employees",
                    "prompt": "each boss has at most 3 employees",
                }
            ],
        }
    }
    df = mock.sample(
        tables=tables,
        sample_size=7,
        model=tiny_model,
        n_workers=1,
        random_state=2,
        progress_callback=lambda **kw: None,
    )
    assert df["employee_id"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert pd.isna(df["boss_id"].iloc[0])  # the root of the tree
    bosses = df["boss_id"].dropna()
    assert set(bosses) <= set(df["employee_id"]) and bosses.value_counts().max() <= 3
    assert_integrity({"employees": df}, tables)


def test_string_keys_are_unique(tiny_model):
    tables = {
        "codes": {"columns": {"code": {"prompt": "a short code", "dtype": "string"}}, "primary_key": "code"}
    }
    result = mock.generate(
        tables=tables, sample_size=12, model=tiny_model, random_state=3, batch_size=6, progress_bar=False
    )
    codes = result.frames["codes"]["code"]
    assert codes.is_unique and (codes.str.len() > 0).all() and len(codes) == 12


def test_enrich_single_frame_keeps_given_values(tiny_model):
    tables = {
        "patients": {
            "prompt": "Patients of a hospital in Finland",
            "columns": {
                "full_name": {"prompt": "first name and last name of the patient", "dtype": "string"},
                "date_of_birth": {"prompt": "date of birth", "dtype": "date"},
                "place_of_birth": {"prompt": "place of birth", "dtype": "string"},
            },
        }
    }
    existing = pd.DataFrame({"age": [25, 30, 35, 40], "gender": ["male", "male", "female", "female"]})
    before = existing.copy()
    df = mock.sample(
        tables=tables,
        existing_data={"patients": existing},
        model=tiny_model,
        sample_size=99,
        random_state=4,
        progress_callback=lambda **kw: None,
    )
    pd.testing.assert_frame_equal(existing, before)  # the input is not modified
    assert list(df.columns) == ["age", "gender", "full_name", "date_of_birth", "place_of_birth"]
    pd.testing.assert_frame_equal(df[["age", "gender"]], before)  # given values unchanged, rows kept
    assert df[["full_name", "date_of_birth", "place_of_birth"]].notna().all().all()


def test_enrich_multi_table_dataset(tiny_model):
    tables = {
        "customers": {
            "prompt": "Customers of a hardware store",
            "columns": {
                "customer_id": {"dtype": "string"},
                "name": {"dtype": "string"},
                "loyalty_level": {"dtype": "category", "values": ["bronze", "silver", "gold", "platinum"]},
            },
            "primary_key": "customer_id",
        },
        "orders": {
            "prompt": "Orders of a Customer",
            "columns": {
                "order_id": {"dtype": "string"},
                "customer_id": {"dtype": "string"},
                "total_amount": {"prompt": "order amount in USD", "dtype": "float"},
                "status": {"dtype": "category", "values": ["pending", "shipped", "delivered", "cancelled"]},
            },
            "primary_key": "order_id",
            "foreign_keys": [
                {
                    "column": "customer_id",
                    "referenced_table": "customers",
                    "prompt": "each customer has anywhere between 1 and 3 orders",
                }
            ],
        },
    }
    customers = pd.DataFrame(
        {"customer_id": ["101", "102", "103"], "name": ["John Davis", "Maria Garcia", "Wei Chen"]}
    )
    orders = pd.DataFrame({"order_id": ["ORD-001", "ORD-002"], "customer_id": ["101", "101"]})
    data = mock.sample(
        tables=tables,
        existing_data={"customers": customers, "orders": orders},
        model=tiny_model,
        random_state=5,
        progress_callback=lambda **kw: None,
    )
    pd.testing.assert_frame_equal(data["customers"][["customer_id", "name"]], customers)
    pd.testing.assert_frame_equal(data["orders"][["order_id", "customer_id"]], orders)
    assert set(data["customers"]["loyalty_level"]) <= {"bronze", "silver", "gold", "platinum"}
    assert data["orders"]["status"].notna().all() and data["orders"]["total_amount"].notna().all()
    assert_integrity(data, tables)


def test_non_context_reference_and_children_of_existing_parents(tiny_model, reference_tables):
    customers = pd.DataFrame({"customer_id": ["c1", "c2"], "name": ["Ann", "Bob"]})
    data = mock.sample(
        tables=reference_tables,
        existing_data={"customers": customers},
        sample_size=1,
        model=tiny_model,
        random_state=6,
        progress_callback=lambda **kw: None,
    )
    assert set(data["orders"]["customer_id"]) == {"c1", "c2"}
    assert set(data["orders"]["warehouse_id"]) <= set(data["warehouses"]["warehouse_id"])
    assert len(data["warehouses"]) == 1
    assert_integrity(data, reference_tables)
