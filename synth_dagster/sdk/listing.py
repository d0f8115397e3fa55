"""Filtering and paging for `list()` of generators, synthetic datasets and connectors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from synth_dagster.domain import ProgressStatus
from synth_dagster.sdk.errors import InvalidRequestError


def parse_day(text: str | dt.date | None, what: str) -> dt.date | None:
    if text is None or isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        raise InvalidRequestError(f"{what} must be a date as YYYY-MM-DD, got {text!r}") from None


def parse_statuses(status: str | ProgressStatus | Iterable[str] | None) -> set[str] | None:
    if status is None:
        return None
    items = [status] if isinstance(status, str) else list(status)
    out = set()
    for item in items:
        try:
            out.add(ProgressStatus(item).value)
        except ValueError:
            allowed = ", ".join(s.value for s in ProgressStatus)
            raise InvalidRequestError(f"unknown status {item!r}; use one of {allowed}") from None
    return out


class Filter:
    """The filters shared by every `list()`: search term and creation dates (inclusive days, UTC)."""

    def __init__(
        self, search_term: str | None, created_from: Any, created_to: Any, statuses: set[str] | None = None
    ):
        self.term = search_term.lower() if search_term else None
        self.start = parse_day(created_from, "created_from")
        self.end = parse_day(created_to, "created_to")
        self.statuses = statuses

    def matches(self, record: dict[str, Any], status: str | None = None) -> bool:
        if self.term:
            text = " ".join(str(record.get(k) or "") for k in ("name", "description", "id")).lower()
            if self.term not in text:
                return False
        created = record.get("created_at")
        day = dt.datetime.fromisoformat(created).astimezone(dt.UTC).date() if created else None
        if self.start and (day is None or day < self.start):
            return False
        if self.end and (day is None or day > self.end):
            return False
        return not (self.statuses is not None and status not in self.statuses)


def page(items: Iterable[Any], offset: int, limit: int | None) -> Iterator[Any]:
    if offset < 0 or (limit is not None and limit < 0):
        raise InvalidRequestError("offset and limit must not be negative")
    for i, item in enumerate(items):
        if i < offset:
            continue
        if limit is not None and i >= offset + limit:
            return
        yield item
