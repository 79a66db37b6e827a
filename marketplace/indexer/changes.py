"""The rows one stretch of events changes: loaded in bulk, changed in memory, written in bulk,
and, for an unconfirmed block, journaled so that a reorganization can take them back.

    changes = Changes(chain_id=31337, journal_block=None)   # confirmed: no journal
    changes.load(Deal, dealids)
    deal = changes.edit(changes.get(Deal, dealid))           # snapshot, then change freely
    deal.tasks_completed += 1
    task = changes.create(Task, taskid, status="active", ...)
    changes.flush()

Models are keyed by (chain_id, `Model.KEY`), the natural key the events carry; a model without
KEY (a follower's row, such as a catalogue listing) is keyed by its primary key and is written
only in the fields `edit` names.
"""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import connection, models

from marketplace.indexer.models import UndoRecord

_CHUNK = 1000


def _key_field(model: type[models.Model]) -> str:
    return getattr(model, "KEY", "pk")


def _chained(model: type[models.Model]) -> bool:
    return hasattr(model, "KEY")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _fields(model: type[models.Model], names: Iterable[str] | None) -> list[models.Field]:
    concrete = [f for f in model._meta.concrete_fields if not f.primary_key]
    if names is None:
        return concrete
    wanted = set(names)
    return [f for f in concrete if f.name in wanted or f.attname in wanted]


def snapshot(obj: models.Model, fields: Sequence[models.Field]) -> str:
    return json.dumps({f.attname: f.value_from_object(obj) for f in fields}, default=_json_default)


def restore(obj: models.Model, previous: str) -> list[str]:
    """Set `obj`'s fields back from a snapshot; the attnames set."""
    values = json.loads(previous)
    by_attname = {f.attname: f for f in obj._meta.concrete_fields}
    for attname, value in values.items():
        field = by_attname[attname]
        setattr(obj, attname, None if value is None else field.to_python(value))
    return list(values)


def copy_rows(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """COPY `rows` (values in the order of the field names `columns`) into `model`'s table
    (PostgreSQL only). Values go as Python values: psycopg adapts them, without Django's
    per-field preparation, which costs more than the COPY itself."""
    fields = [model._meta.get_field(name) for name in columns]
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: COPY is not part of the DB-API
        with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def insert_rows(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert `objs` (without primary keys): COPY on PostgreSQL, bulk INSERTs elsewhere.
    Their fields hold plain values (str, int, Decimal, aware datetime, bool, None)."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=500)
        return
    attnames = [f.attname for f in _fields(model, None)]
    copy_rows(
        model,
        [f.name for f in _fields(model, None)],
        ([obj.__dict__[name] for name in attnames] for obj in objs),
    )


def update_rows(
    model: type[models.Model], objs: Sequence[models.Model], names: Iterable[str] | None
) -> None:
    """UPDATE the fields `names` (all but the key when None) of `objs`, by primary key."""
    if not objs:
        return
    fields = _fields(model, names)
    table = connection.ops.quote_name(model._meta.db_table)
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    pk = connection.ops.quote_name(model._meta.pk.column)
    rows = [
        [f.get_db_prep_save(f.value_from_object(obj), connection) for f in fields] + [obj.pk]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        # Names come from the model's metadata, quoted; values are parameters.
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", rows)  # noqa: S608


class Changes:
    """Rows loaded, created and edited by the events of one stretch of blocks.

    `journal_block`: the (unconfirmed) block these changes belong to; each row's state before
    them is journaled under it. None for confirmed blocks, which are never taken back."""

    def __init__(self, *, chain_id: int, journal_block: int | None = None) -> None:
        self.chain_id = chain_id
        self.journal_block = journal_block
        self._rows: dict[type[models.Model], dict[Any, models.Model | None]] = defaultdict(dict)
        self._new: dict[type[models.Model], list[models.Model]] = defaultdict(list)
        self._new_ids: set[int] = set()
        self._edited: dict[type[models.Model], dict[int, models.Model]] = defaultdict(dict)
        self._edited_fields: dict[type[models.Model], frozenset[str] | None] = {}
        self._journal: list[UndoRecord] = []

    # ------------------------------------------------------------------ reading

    def load(self, model: type[models.Model], keys: Iterable[Any]) -> None:
        """Fetch the rows of `keys` not loaded yet, in chunks (one query per thousand)."""
        known = self._rows[model]
        missing = list({key for key in keys if key not in known and key})
        field = _key_field(model)
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            found = model.objects.filter(**{f"{field}__in": chunk})
            if _chained(model):
                found = found.filter(chain_id=self.chain_id)
            for obj in found:
                known[getattr(obj, field)] = obj
            for key in chunk:
                known.setdefault(key, None)

    def load_where(self, model: type[models.Model], **lookups: Any) -> list[models.Model]:
        """Rows of `model` matching `lookups` (loaded ones as they are in memory)."""
        field = _key_field(model)
        query = model.objects.filter(**lookups)
        if _chained(model):
            query = query.filter(chain_id=self.chain_id)
        keys = list(query.values_list(field, flat=True))
        self.load(model, keys)
        rows = [self._rows[model][key] for key in keys]
        # Rows created in memory since match too; the caller filters them by its own test.
        rows += [obj for obj in self._new[model] if obj not in rows]
        return [row for row in rows if row is not None]

    def get(self, model: type[models.Model], key: Any) -> Any:
        """The row of `key` (loaded on demand), or None."""
        if not key:
            return None
        if key not in self._rows[model]:
            self.load(model, [key])
        return self._rows[model][key]

    def peek(self, model: type[models.Model], key: Any) -> Any:
        """The row of `key` if it is loaded or created here, else None (never a query)."""
        return self._rows[model].get(key)

    # ------------------------------------------------------------------ writing

    def create(self, model: type[models.Model], key: Any, **fields: Any) -> Any:
        """A new row of `key`, inserted at flush with whatever it holds then."""
        obj = model(chain_id=self.chain_id, **{_key_field(model): key}, **fields)
        self._rows[model][key] = obj
        self._new[model].append(obj)
        self._new_ids.add(id(obj))
        return obj

    def edit(self, obj: Any, fields: Sequence[str] | None = None) -> Any:
        """Declare that `obj` is about to change (only in `fields`, if given); returns it.

        A model is edited in the same fields throughout (all of them, or one set): its rows
        are journaled and written in exactly those, so a row edited later in other fields
        would be written without its earlier state kept. A mix raises ValueError."""
        if obj is None or id(obj) in self._new_ids:
            return obj
        model = type(obj)
        wanted = None if fields is None else frozenset(fields)
        if self._edited_fields.setdefault(model, wanted) != wanted:
            raise ValueError(
                f"{model.__name__} rows are edited in {self._edited_fields[model] or 'all fields'}"
                f", not {wanted or 'all fields'}: one set per model."
            )
        if obj.pk not in self._edited[model]:
            self._edited[model][obj.pk] = obj
            if self.journal_block is not None:
                key = getattr(obj, _key_field(model))
                self._journal.append(self._undo(model, key, snapshot(obj, _fields(model, fields))))
        return obj

    def _undo(self, model: type[models.Model], key: Any, previous: str | None) -> UndoRecord:
        return UndoRecord(
            chain_id=self.chain_id,
            block_number=self.journal_block,
            model=model._meta.label,
            key=str(key),
            previous=previous,
        )

    def flush(self) -> None:
        """Write every created and edited row, and the journal; nothing is kept after."""
        for model, objs in self._new.items():
            insert_rows(model, objs)
            if self.journal_block is not None:
                field = _key_field(model)
                self._journal.extend(self._undo(model, getattr(o, field), None) for o in objs)
        for model, edited in self._edited.items():
            update_rows(model, list(edited.values()), self._edited_fields.get(model))
        UndoRecord.objects.bulk_create(self._journal, batch_size=500)
        self._rows.clear()
        self._new.clear()
        self._new_ids.clear()
        self._edited.clear()
        self._edited_fields.clear()
        self._journal = []


def undo(*, chain_id: int, from_block: int) -> int:
    """Take back every journaled change of blocks `from_block` and later, newest first, and
    drop their journal; how many rows were restored or deleted."""
    records = list(
        UndoRecord.objects.filter(chain_id=chain_id, block_number__gte=from_block).order_by("-id")
    )
    for record in records:
        model = apps.get_model(record.model)
        field = _key_field(model)
        rows = model.objects.filter(**{field: record.key})
        if _chained(model):
            rows = rows.filter(chain_id=chain_id)
        if record.previous is None:
            rows.delete()
            continue
        obj = rows.first()
        if obj is None:  # deleted by someone else since (a follower's row): nothing to restore
            continue
        names = restore(obj, record.previous)
        update_rows(model, [obj], names)
    UndoRecord.objects.filter(chain_id=chain_id, block_number__gte=from_block).delete()
    return len(records)
