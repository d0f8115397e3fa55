"""Rows out of a model's text: plain JSON, JSON in a code fence or among prose, and light repairs
(trailing commas, Python literals, single quotes, an answer cut off before its closing brackets)."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["ParseError", "parse_rows"]

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",\s*([\]}])")
_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}


class ParseError(ValueError):
    """No JSON rows could be read from the model's answer."""


def parse_rows(text: str) -> list[Any]:
    """The list of rows in `text`: `{"rows": [...]}`, a bare list, `{"<table>": [...]}` or one row."""
    value = _parse_json(text)
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        if isinstance(value.get("rows"), list):
            return value["rows"]
        lists = [v for v in value.values() if isinstance(v, list)]
        if len(lists) == 1 and all(isinstance(r, dict) for r in lists[0]):
            return lists[0]
        return [value]
    raise ParseError(f"expected a JSON object with rows, got {type(value).__name__}")


def _parse_json(text: str) -> Any:
    if not isinstance(text, str) or not text.strip():
        raise ParseError("the answer is empty")
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for candidate in candidates:
        start = _first_bracket(candidate)
        if start is None:
            continue
        body = candidate[start:]
        for attempt in (body, _repair(body)):
            try:
                value, _ = json.JSONDecoder().raw_decode(attempt)
                return value
            except json.JSONDecodeError:
                continue
    raise ParseError(f"no JSON found in the answer ({len(text)} characters)")


def _first_bracket(text: str) -> int | None:
    found = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    return min(found) if found else None


def _repair(text: str) -> str:
    """Best-effort fixes for the usual ways a model breaks JSON."""
    if '"' not in text and "'" in text:
        text = text.replace("'", '"')
    text = re.sub(r"\b(True|False|None)\b", lambda m: _PY_LITERALS[m.group(1)], text)
    text = _TRAILING_COMMA.sub(r"\1", text)
    return _close(text)


def _close(text: str) -> str:
    """Close an answer cut off mid-way: end an open string, drop a dangling key or comma, and close
    the open brackets in order."""
    stack: list[str] = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    if not stack and not in_string:
        return text
    if in_string:
        text += '"'
    text = re.sub(r',\s*"[^"]*"\s*:?\s*$', "", text.rstrip())  # a key without its value
    text = re.sub(r"[,:]\s*$", "", text.rstrip())
    return text + "".join(reversed(stack))
