"""The data_process expression language: parsed, never passed to SQL as text."""

from __future__ import annotations

import duckdb
import pytest
from switchyard.domain.audience_expressions import InvalidExpression, parse


def evaluate(text: str, **row: object) -> object:
    expr = parse(text)
    con = duckdb.connect()
    names = ", ".join(f"? AS {k}" for k in row)
    con.execute(f"CREATE TABLE a AS SELECT {names}", list(row.values()))
    (value,) = con.execute(f"SELECT {expr.sql} FROM a", expr.params).fetchone()  # type: ignore[misc]
    return value


def test_expressions_compute_over_the_row() -> None:
    row = {"first_name": "Ann", "email": "ann@Example.com", "score": 41, "region": "west"}
    assert evaluate("first_name || ' ' || 'O''Neil'", **row) == "Ann O'Neil"
    assert evaluate("lower(substr(email, strpos(email, '@') + 1))", **row) == "example.com"
    assert evaluate("round(score * 1.5, 1)", **row) == 61.5
    assert evaluate("if(region = 'west' and score >= 40, 'W', 'E')", **row) == "W"
    assert evaluate("coalesce(null, to_integer('7')) + -2", **row) == 5
    assert evaluate("not (score > 50 or region != 'west')", **row) is True


def test_strings_are_bound_and_columns_listed() -> None:
    expr = parse("upper(name) || '; DROP TABLE x' || orders.amount")
    assert "DROP" not in expr.sql and expr.params == ["; DROP TABLE x"]
    assert expr.columns == {"name", "orders.amount"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("score +", "ends too early"),
        ("system('ls')", "Unknown function 'system'"),
        ("upper(a, b)", r"takes 1 argument\(s\), not 2"),
        ("Score", "not a column name"),
        ("a; b", "Cannot read"),
        ("'open", "Cannot read"),
        ("(a", "ends too early"),
        ("a b", "Unexpected 'b'"),
    ],
)
def test_what_does_not_parse_says_why(text: str, message: str) -> None:
    with pytest.raises(InvalidExpression, match=message):
        parse(text)
