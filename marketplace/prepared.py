"""Queries built with the ORM once, and run again with other values.

Django builds and compiles a queryset anew at every call: about 0.2 ms for a query of one
table, more with windows and subqueries, where the database answers from an index in a tenth of
that. A listing page making twenty such reads spent a third of its time building them. A
`Prepared` query is built once per shape by a function of its values (`build`), keeps its SQL,
and runs it again with each call's values through the connection's cursor, converting the
columns as Django would (decimals, dates, booleans of SQLite...).

    _cheapest = Prepared(lambda asset: Order.objects.filter(asset=asset).values_list("price"))
    _cheapest(asset="0x...")  # [(Decimal(...),), ...], as list(values_list) gives

Its rules, checked when a shape is first built (ValueError otherwise):
- `build` returns a `values_list` queryset (flat or not), giving rows of plain values, or a
  queryset of models, giving them with their `select_related` objects and annotations, and
  their `prefetch_related` lookups read by the ORM as usual.
- Each value is a str, an int, an aware datetime (compared with a DateTimeField) or a tuple of
  str and int, and reaches the SQL as a parameter of its own: a filter's value does, a value
  turned into a pattern (`contains`) or a LIMIT does not.
- A tuple is for `__in` only: it is padded to a power of two with its last item, so that a few
  shapes serve every length (a repeat changes nothing in an IN list).
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet, prefetch_related_objects
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesListIterable,
    get_related_populators,
)

Value = str | int | datetime.datetime | tuple

_FAR = datetime.datetime(2999, 1, 1, tzinfo=datetime.UTC)


def _as_parameter(value: Any, alias: str) -> Any:
    """A datetime as the database's driver is given it (SQLite: text); others unchanged."""
    if isinstance(value, datetime.datetime):
        return connections[alias].ops.adapt_datetimefield_value(value)
    return value


class _Marker:
    """Stand-ins for the values while a shape is built: each one unique, of the value's type,
    and within any integer column's range (Django finds no row for a value beyond it)."""

    def __init__(self, first_int: int) -> None:
        self._ints = itertools.count(first_int)
        self._strs = itertools.count(first_int)
        self.slots: dict[Any, tuple[str, int | None]] = {}

    def make(self, name: str, value: Value) -> Value:
        if isinstance(value, tuple):
            return tuple(self._one(name, item, index) for index, item in enumerate(value))
        return self._one(name, value, None)

    def _one(self, name: str, value: Any, index: int | None) -> Any:
        if isinstance(value, datetime.datetime) and index is None and value.tzinfo is not None:
            marker = _FAR + datetime.timedelta(seconds=next(self._ints))
            self.slots[_as_parameter(marker, DEFAULT_DB_ALIAS)] = (name, index)
            return marker
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError(
                f"{name}: a prepared query takes str, int and aware datetime values, not {value!r}"
            )
        marker = next(self._ints) if isinstance(value, int) else f"\ue000{next(self._strs)}\ue000"
        self.slots[marker] = (name, index)
        return marker


class _Shape:
    def __init__(self, queryset: QuerySet, marker: _Marker) -> None:
        rows = queryset._iterable_class
        if rows not in (ValuesListIterable, FlatValuesListIterable, ModelIterable) or (
            queryset._known_related_objects
        ):
            raise ValueError("a prepared query is a values_list queryset or one of models")
        self.alias = queryset.db
        if self.alias != DEFAULT_DB_ALIAS:
            raise ValueError("a prepared query reads the default database")
        self.flat = queryset._iterable_class is FlatValuesListIterable
        compiler = queryset.query.get_compiler(using=self.alias)
        try:
            self.sql, params = compiler.as_sql()
        except EmptyResultSet:  # an empty `__in`: no row, whatever the other values
            self.sql, params = None, ()
        # Each parameter: a value's slot (name, index in its tuple), or a constant of the query.
        self.params: list[tuple[bool, Any]] = []
        seen = set()
        for param in params:
            try:
                slot = marker.slots.get(param)
            except TypeError:  # unhashable: a constant of the query
                slot = None
            if slot is None:
                if isinstance(param, str) and "\ue000" in param:
                    raise ValueError(f"a prepared value is changed on its way to the SQL: {param}")
                self.params.append((False, param))
            else:
                seen.add(param)
                self.params.append((True, slot))
        if self.sql is not None and seen != set(marker.slots):
            raise ValueError("a prepared value does not reach the SQL as a parameter of its own")
        if self.sql is None:
            return
        fields = [select[0] for select in compiler.select[0 : compiler.col_count]]
        self.converters = list(compiler.get_converters(fields).items())
        self.models = None
        if queryset._iterable_class is ModelIterable:
            # As ModelIterable makes them, from what the compiler says of its columns.
            info = compiler.klass_info
            first, last = info["select_fields"][0], info["select_fields"][-1] + 1
            self.models = (
                info["model"],
                [column[0].target.attname for column in compiler.select[first:last]],
                first,
                last,
                get_related_populators(info, compiler.select, self.alias),
                dict(compiler.annotation_col_map or {}),
                tuple(queryset._prefetch_related_lookups),
            )

    def run(self, values: dict[str, Value]) -> list:
        if self.sql is None:
            return []
        params = [
            _as_parameter(
                values[item[0]] if item[1] is None else values[item[0]][item[1]], self.alias
            )
            if is_slot
            else item
            for is_slot, item in self.params
        ]
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        if self.converters:
            converted = []
            for row in rows:
                row = list(row)
                for position, (functions, expression) in self.converters:
                    value = row[position]
                    for function in functions:
                        value = function(value, expression, connection)
                    row[position] = value
                converted.append(tuple(row))
            rows = converted
        if self.models is not None:
            return self._instances(rows)
        return [row[0] for row in rows] if self.flat else rows

    def _instances(self, rows: list[tuple]) -> list:
        model, names, first, last, populators, annotations, prefetches = self.models
        found = []
        for row in rows:
            instance = model.from_db(self.alias, names, row[first:last])
            for populator in populators:
                populator.populate(row, instance)
            for name, position in annotations.items():
                setattr(instance, name, row[position])
            found.append(instance)
        if prefetches:
            prefetch_related_objects(found, *prefetches)
        return found


def _padded(value: Value) -> Value:
    if isinstance(value, tuple) and len(value) > 1:
        size = 1 << (len(value) - 1).bit_length()
        return value + (value[-1],) * (size - len(value))
    return value


def give_prefetched(instance: Any, name: str, rows: list) -> None:
    """Hand `rows` to `instance` as its relation `name` (many-to-many or reverse) prefetched,
    as prefetch_related does: `instance.<name>.all()` then reads nothing. For rows a prepared
    query read, where a `prefetch_related` would build its query anew at each call."""
    queryset = getattr(instance, name).all()
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[name] = queryset


class Prepared:
    """A query built by `build(**values)` once per shape, then run with each call's values
    (see the module's rules)."""

    MAX_SHAPES = 256

    def __init__(self, build: Callable[..., QuerySet]) -> None:
        self.build = build
        self._shapes: dict[tuple, _Shape] = {}

    def __call__(self, **values: Value) -> list:
        values = {name: _padded(value) for name, value in values.items()}
        key = tuple(
            (name, len(value) if isinstance(value, tuple) else type(value).__name__)
            for name, value in sorted(values.items())
        )
        shape = self._shapes.get(key)
        if shape is None:
            if len(self._shapes) >= self.MAX_SHAPES:  # tuples of ever new lengths
                self._shapes.clear()
            shape = self._shapes[key] = self._shape(values)
        return shape.run(values)

    def _shape(self, values: dict[str, Value]) -> _Shape:
        # Built twice with other stand-ins: a constant of the query equal to a stand-in, or a
        # value the query uses otherwise than as a parameter, shows as a difference.
        shapes = []
        for first_int in (1_000_000_007, 1_100_000_009):
            marker = _Marker(first_int)
            markers = {name: marker.make(name, value) for name, value in values.items()}
            shapes.append(_Shape(self.build(**markers), marker))
        if (shapes[0].sql, shapes[0].params) != (shapes[1].sql, shapes[1].params):
            raise ValueError("a prepared value is used otherwise than as a parameter")
        if shapes[0].sql is None and all(
            not isinstance(value, tuple) or value for value in values.values()
        ):
            raise ValueError("a prepared query finds no row whatever its values")
        return shapes[0]
