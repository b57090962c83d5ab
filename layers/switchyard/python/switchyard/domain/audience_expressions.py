"""Computed columns of a ``data_process`` activity: a small, safe expression language.

Users never write SQL. An expression is parsed here into a tree and rendered to DuckDB SQL with
every column name checked (``identifier``-style), every string bound as a parameter and every
function taken from a fixed list, so nothing a user types reaches SQL as text.

    first_name || ' ' || last_name
    round(score * 1.1, 2)
    if(region = 'west', 'W', 'E')
    lower(substr(email, strpos(email, '@') + 1))
    coalesce(orders.amount, 0)            (a column of a joined table)

Grammar: literals (numbers, ``'strings'`` with ``''`` for a quote, ``true``, ``false``,
``null``); columns (``name`` or ``table.name``); ``( )``; unary ``-`` and ``not``; ``* / %``;
``+ - ||``; comparisons ``= != < <= > >=``; ``and``; ``or``; and the functions of
:data:`FUNCTIONS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from switchyard.domain.errors import ValidationFailed

# name -> (minimum arguments, maximum arguments or None for any number)
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "upper": (1, 1),
    "lower": (1, 1),
    "trim": (1, 1),
    "length": (1, 1),
    "substr": (2, 3),
    "strpos": (2, 2),
    "replace": (3, 3),
    "left": (2, 2),
    "right": (2, 2),
    "concat": (1, None),
    "coalesce": (1, None),
    "nullif": (2, 2),
    "round": (1, 2),
    "abs": (1, 1),
    "floor": (1, 1),
    "ceil": (1, 1),
    "greatest": (1, None),
    "least": (1, None),
    "if": (3, 3),
    "to_text": (1, 1),
    "to_number": (1, 1),
    "to_integer": (1, 1),
    "to_date": (1, 1),
    "today": (0, 0),
}
MAX_LENGTH = 1000
_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?)|(?P<string>'(?:[^']|'')*')|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)"
    r"|(?P<op>\|\||<=|>=|!=|<>|[-+*/%=<>(),]))"
)
_COLUMN = re.compile(r"^[a-z][a-z0-9_]{0,62}(\.[a-z][a-z0-9_]{0,62})?$")
_KEYWORDS = {"and", "or", "not", "true", "false", "null"}


class InvalidExpression(ValidationFailed):
    pass


@dataclass
class Expression:
    """A parsed expression: its SQL (columns as ``a.col`` or ``table.col``), bound values, and the
    columns it reads."""

    sql: str
    params: list[Any] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise InvalidExpression(f"Cannot read the expression at {text[pos : pos + 20]!r}.")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        if not text.strip():
            raise InvalidExpression("The expression is empty.")
        if len(text) > MAX_LENGTH:
            raise InvalidExpression(f"The expression is longer than {MAX_LENGTH} characters.")
        self.tokens = _tokens(text)
        self.i = 0
        self.params: list[Any] = []
        self.columns: set[str] = set()

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise InvalidExpression("The expression ends too early.")
        if value is not None and token[1].lower() != value:
            raise InvalidExpression(f"Expected {value!r}, found {token[1]!r}.")
        self.i += 1
        return token

    def at(self, *values: str) -> bool:
        token = self.peek()
        return token is not None and token[1].lower() in values

    def parse(self) -> str:
        sql = self.or_()
        if self.peek() is not None:
            raise InvalidExpression(f"Unexpected {self.peek()[1]!r}.")  # type: ignore[index]
        return sql

    def or_(self) -> str:
        sql = self.and_()
        while self.at("or"):
            self.take()
            sql = f"({sql} OR {self.and_()})"
        return sql

    def and_(self) -> str:
        sql = self.not_()
        while self.at("and"):
            self.take()
            sql = f"({sql} AND {self.not_()})"
        return sql

    def not_(self) -> str:
        if self.at("not"):
            self.take()
            return f"(NOT {self.not_()})"
        return self.compare()

    def compare(self) -> str:
        sql = self.add()
        if self.at("=", "!=", "<>", "<", "<=", ">", ">="):
            op = self.take()[1]
            sql = f"({sql} {'<>' if op == '!=' else op} {self.add()})"
        return sql

    def add(self) -> str:
        sql = self.mul()
        while self.at("+", "-", "||"):
            op = self.take()[1]
            right = self.mul()
            sql = (
                f"(CAST({sql} AS VARCHAR) || CAST({right} AS VARCHAR))"
                if op == "||"
                else f"({sql} {op} {right})"
            )
        return sql

    def mul(self) -> str:
        sql = self.unary()
        while self.at("*", "/", "%"):
            op = self.take()[1]
            sql = f"({sql} {op} {self.unary()})"
        return sql

    def unary(self) -> str:
        if self.at("-"):
            self.take()
            return f"(- {self.unary()})"
        return self.primary()

    def primary(self) -> str:
        kind, value = self.take()
        if kind == "number":
            return str(float(value)) if "." in value else str(int(value))
        if kind == "string":
            self.params.append(value[1:-1].replace("''", "'"))
            return "CAST(? AS VARCHAR)"
        if value == "(":
            sql = self.or_()
            self.take(")")
            return sql
        if kind != "name":
            raise InvalidExpression(f"Unexpected {value!r}.")
        lowered = value.lower()
        if lowered in ("true", "false", "null"):
            return lowered.upper()
        if lowered in _KEYWORDS:
            raise InvalidExpression(f"Unexpected {value!r}.")
        if self.at("("):
            return self.call(lowered)
        if not _COLUMN.match(value):
            raise InvalidExpression(
                f"Column {value!r} is not a column name (lower-case letters, digits and _, or table.column)."
            )
        self.columns.add(value)
        return value if "." in value else f"a.{value}"

    def call(self, name: str) -> str:
        if name not in FUNCTIONS:
            raise InvalidExpression(
                f"Unknown function {name!r}; the functions are: {', '.join(sorted(FUNCTIONS))}."
            )
        self.take("(")
        args: list[str] = []
        if not self.at(")"):
            args.append(self.or_())
            while self.at(","):
                self.take()
                args.append(self.or_())
        self.take(")")
        low, high = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            wanted = str(low) if low == high else f"{low} or more" if high is None else f"{low} to {high}"
            raise InvalidExpression(f"Function {name!r} takes {wanted} argument(s), not {len(args)}.")
        if name == "if":
            return f"(CASE WHEN {args[0]} THEN {args[1]} ELSE {args[2]} END)"
        if name == "to_text":
            return f"CAST({args[0]} AS VARCHAR)"
        if name == "to_number":
            return f"TRY_CAST({args[0]} AS DOUBLE)"
        if name == "to_integer":
            return f"TRY_CAST({args[0]} AS BIGINT)"
        if name == "to_date":
            return f"TRY_CAST({args[0]} AS DATE)"
        if name == "today":
            return "current_date"
        return f"{name}({', '.join(args)})"


def parse(text: str) -> Expression:
    """Parse one expression; raises :class:`InvalidExpression` saying what to fix."""
    if not isinstance(text, str):
        raise InvalidExpression("An expression is a string, e.g. \"first_name || ' ' || last_name\".")
    parser = _Parser(text)
    sql = parser.parse()
    return Expression(sql=sql, params=parser.params, columns=parser.columns)
