"""moto's DynamoDB, made to scale with the table in the local runtime.

moto 5.2.5's ``TransactWriteItems`` backs up, before every transaction, a deep copy of each table
it touches, items and all, to put back if the transaction is cancelled. The engine begins every
task in a transaction (``WorkflowRepository.begin_task``), so each task's cost grew with every
run and task ever recorded: measured, the deep copies were a tenth of a lone run's CPU with a
few runs in the tables, and most of it with hundreds. :func:`install` backs up only the items
the transaction names (a deep copy of each, or "absent") and puts those back instead: the same
all-or-nothing result, at a cost that does not depend on the table's size.

The rest is moto's own code, unchanged: the same checks, the same errors, in the same order.

moto's ``Query`` starts from every item of the table, sorted (``Table.all_items``), and keeps
those of the partition asked for: each query cost grew with every item ever written, and the
engine reads a run's tasks (one partition of the tasks table) at every step, so a run's steps got
slower with every run recorded (measured with 300 runs under way, queries were two fifths of the
runtime's CPU). :func:`install` hands ``Query`` only the items of the partition it asks for on
the table itself, and, on an index, every item unsorted (moto sorts what matches by the index's
keys afterwards, which are unique with the table's): the same items in the same order, at a cost
that grows with the partition, not the table. That sort compared moto's ``DynamoType`` objects
(a Python call per comparison, each computing both values again: a page of the console's
workflow list sorted every run of the tenant twice, about 50 ms with 1,300 runs); it now sorts
by the same values (``cast_value``: ``Decimal`` for numbers, the string or bytes otherwise),
computed once per item, in the same order.

moto also turns every DynamoDB answer into JSON through botocore's output shapes, member by
member (each attribute value of each item looked up under several spellings): measured with a
few hundred runs recorded, that was most of the runtime's CPU (a page of 50 workflows for the
console, every GetItem of the engine). The items are already in DynamoDB's JSON form when moto
serializes them, so :func:`install` writes the item operations' answers with ``json.dumps`` when
they hold only JSON values (strings, numbers, booleans, null, lists, maps), and lets moto's
serializer write anything else (a binary value, a timestamp, an error): the same JSON either way.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import table as table_module
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult

# The operations whose answers are items (and counts, keys, consumed capacity) in DynamoDB JSON.
ITEM_OPERATIONS = frozenset(
    {"GetItem", "Query", "Scan", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "TransactGetItems"}
)
JSON_PROTOCOL = "application/x-amz-json-1.0"


def _plain(value: Any) -> bool:
    """Only JSON values all the way down (what ``json.dumps`` writes as moto's serializer would)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, str | bool | int | float)


def install() -> Callable[[], None]:
    """Patch moto's ``transact_write_items`` and its item answers; returns a function that undoes it."""
    original = DynamoDBBackend.transact_write_items

    def item_key(backend: Any, op_type: str, op: dict[str, Any]) -> tuple[Any, Any, Any] | None:
        """(table, hash value, range value) of the item an operation names, or None."""
        table_name = op.get("TableName")
        if not table_name or table_name not in backend.tables:
            return None
        table = backend.tables[table_name]
        attrs = op.get("Item") if op_type == "Put" else op.get("Key")
        if not isinstance(attrs, dict) or table.hash_key_attr not in attrs:
            return None
        hash_value = DynamoType(attrs[table.hash_key_attr])
        range_value = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in attrs:
                return None
            range_value = DynamoType(attrs[table.range_key_attr])
        return table, hash_value, range_value

    def backup(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
        saved = []
        for item in transact_items:
            if len(item) != 1:
                continue
            op_type, op = next(iter(item.items()))
            found = item_key(backend, op_type, op)
            if found is not None:
                table, hash_value, range_value = found
                current = table.get_item(hash_value, range_value)
                saved.append((table, hash_value, range_value, copy.deepcopy(current)))
        return saved

    def restore(saved: list[tuple[Any, Any, Any, Any]]) -> None:
        for table, hash_value, range_value, item in reversed(saved):
            if item is None:
                table.delete_item(hash_value, range_value)
            elif range_value is not None:
                table.items[hash_value][range_value] = item
            else:
                table.items[hash_value] = item

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        # Back up the items the transaction names, in case any of its operations fails.
        saved = backup(self, transact_items)

        target_items: set[tuple[str, str]] = set()

        def check_unicity(table_name: str, key: dict[str, Any]) -> None:
            item = (str(table_name), str(dict(sorted(key.items()))))
            if item in target_items:
                raise MultipleTransactionsException()
            target_items.add(item)

        errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
        for item in transact_items:
            original_item: dict[str, Any] | None = None
            if len(list(item.keys())) > 1:
                raise TransactWriteSingleOpException
            try:
                op_type, op = next(iter(item.items()))
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                table_name = op["TableName"]
                condition_expression = op.get("ConditionExpression")
                expression_attribute_names = op.get("ExpressionAttributeNames")
                expression_attribute_values = op.get("ExpressionAttributeValues")
                return_values_on_condition_check_failure = op.get("ReturnValuesOnConditionCheckFailure")
                if op_type == "Put":
                    attrs = op["Item"]
                    table = self.get_table(table_name)
                    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = attrs[table.range_key_attr]
                else:
                    key = op["Key"]
                check_unicity(table_name, key)
                current = self.get_item(table_name, key)
                if condition_expression is not None:
                    condition_op = get_filter_expression(
                        condition_expression, expression_attribute_names, expression_attribute_values
                    )
                    if not condition_op.expr(current):
                        if return_values_on_condition_check_failure == "ALL_OLD" and current:
                            original_item = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=original_item)
                if op_type == "Put":
                    self.put_item(
                        table_name,
                        op["Item"],
                        condition_expression=condition_expression,
                        expression_attribute_names=expression_attribute_names,
                        expression_attribute_values=expression_attribute_values,
                    )
                elif op_type == "Delete":
                    self.delete_item(
                        table_name,
                        key,
                        condition_expression=condition_expression,
                        expression_attribute_names=expression_attribute_names,
                        expression_attribute_values=expression_attribute_values,
                    )
                elif op_type == "Update":
                    self.update_item(
                        table_name,
                        key,
                        update_expression=op["UpdateExpression"],
                        condition_expression=condition_expression,
                        expression_attribute_names=expression_attribute_names,
                        expression_attribute_values=expression_attribute_values,
                    )
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                restore(saved)
                raise
            except ConditionalCheckFailed as e:
                errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
            except Exception as e:  # moto reports every other error per operation
                errors.append((type(e).__name__, str(e), original_item))  # type: ignore[arg-type]

        if any(code is not None for code, _, _ in errors):
            restore(saved)
            raise TransactionCanceledException(errors)

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]

    original_result = DynamoResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name in ITEM_OPERATIONS and _plain(self.result):
            return 200, {"Content-Type": JSON_PROTOCOL}, json.dumps(self.result)
        return original_result(self, context)

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]

    undo_query = _query_the_partition_only()
    undo_project = _project_top_level_names_directly()

    def uninstall() -> None:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]
        DynamoResult.execute_result = original_result  # type: ignore[method-assign]
        undo_query()
        undo_project()

    return uninstall


def _project_top_level_names_directly() -> Callable[[], None]:
    """moto answers a ProjectionExpression by turning the whole item into plain JSON once per
    name asked for, then back into DynamoDB values one attribute at a time (each insert summing
    the sizes of those before it): a list page of 50 runs asking for 15 names cost more than
    the whole items. When every name asked for is a top-level attribute (what PynamoDB's
    ``attributes_to_get`` asks), the projected item is those attributes of the item, the same
    values: build it from them. Nested paths and list elements go to moto as before."""
    original = Item.project

    def project(self: Any, projection_expressions: list[list[str]]) -> Any:
        if not all(len(path) == 1 and "[" not in path[0] for path in projection_expressions):
            return original(self, projection_expressions)
        result: Any = Item.__new__(Item)
        result.hash_key = self.hash_key
        result.range_key = self.range_key
        attrs = LimitedSizeDict()
        for (name,) in projection_expressions:
            value = self.attrs.get(name)
            if value is not None:
                dict.__setitem__(attrs, name, value)  # the item's own size was checked when written
        result.attrs = attrs
        return result

    Item.project = project  # type: ignore[method-assign]

    def undo() -> None:
        Item.project = original  # type: ignore[method-assign]

    return undo


def _query_the_partition_only() -> Callable[[], None]:
    """While moto's ``Table.query`` runs (in this thread), ``all_items`` gives it only the items it
    can keep: the partition asked for on the table, every item unsorted on an index (see above)."""
    original_query = Table.query
    original_all_items = Table.all_items
    scope = threading.local()

    def all_items(self: Any) -> list[Any]:
        asked = getattr(scope, "asked", None)
        if asked is None or asked[0] is not self:
            return original_all_items(self)  # type: ignore[no-any-return]
        _, hash_key, on_index = asked
        if on_index:
            if self.range_key_attr:
                return [item for hash_set in self.items.values() for item in hash_set.values()]
            return list(self.items.values())
        hash_set = self.items.get(hash_key)
        if hash_set is None:
            return []
        return list(hash_set.values()) if self.range_key_attr else [hash_set]

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # moto's own call: (hash_key, range_comparison, range_objs, limit, exclusive_start_key,
        # scan_index_forward, projection_expressions, index_name, ...)
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name is None and hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        before = getattr(scope, "asked", None)
        scope.asked = (self, hash_key, index_name is not None)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            scope.asked = before

    class _Copies:
        """``copy`` as moto's table module sees it, except that a query's page of results is
        not deep-copied: everything after the copy builds new items (the index's projection,
        a ProjectionExpression) or reads them (the filter, the answer's JSON), all within the
        call, under the runtime's lock, so the copy protected nothing. It was most of a console
        list page's CPU with a few hundred runs recorded (each run item holds its stages and
        history)."""

        copy = staticmethod(copy.copy)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            if getattr(scope, "asked", None) is not None and isinstance(value, list):
                return list(value)
            return copy.deepcopy(value, memo)

    original_sorted = Table.sorted_items

    def sorted_items(
        self: Any, hash_key_attrs: list[str], range_key_attrs: list[str | None], items: list[Any]
    ) -> list[Any]:
        attrs = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)

        def value(v: Any) -> Any:  # what cast_value gives, without its chain of type tests
            return v.value if v.type in ("S", "B") else v.cast_value

        items.sort(key=lambda x: tuple(value(x.attrs[key]) for key in attrs))
        return items

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.sorted_items = sorted_items  # type: ignore[method-assign]
    table_module.copy = _Copies  # type: ignore[assignment]

    def undo() -> None:
        table_module.copy = copy
        Table.query = original_query  # type: ignore[method-assign]
        Table.all_items = original_all_items  # type: ignore[method-assign]
        Table.sorted_items = original_sorted  # type: ignore[method-assign]

    return undo
