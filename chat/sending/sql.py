"""The statements of storing a batch of envelopes (lock the rooms, read them, insert), written out instead of built
by the ORM.

Storing is the one path that runs for every message, and on it the ORM's query building cost more than the
queries (docs/PERFORMANCE.md, ``make bench-paths``). The statements work on Postgres and SQLite, and what is stored
is exactly what ``bulk_create`` would store: on SQLite the values go through the model fields' own preparation, on
Postgres as psycopg adapts them (``_row``; a test reads every field back).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
import uuid
from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, JSONField

from chat.models import Envelope, Membership, Room


@dataclasses.dataclass
class LockedRoom:
    members: set[int] = dataclasses.field(default_factory=set)  # on the roster, invitations not yet answered too
    accepted: set[int] = dataclasses.field(default_factory=set)  # of them, those who accepted: they may send
    newest: int = 0  # the id of the room's newest envelope (0: none yet)
    # The roster's head: the seq and hash a v2 envelope must name (None: a room from before rosters, v1 only).
    roster_seq: int | None = None
    roster_head: bytes | None = None
    # Each sender asked about: the place of their newest envelope in their chain in the room (0: none yet).
    chain_ends: dict[int, int] = dataclasses.field(default_factory=dict)


# Marks the rows of the read that are chain ends, in the column that holds a room row's roster seq.
_CHAIN_ROW = -1


def lock_rooms(
    room_ids: Iterable[uuid.UUID], chains: Iterable[tuple[uuid.UUID, int]] = ()
) -> dict[uuid.UUID, LockedRoom]:
    """Lock the rooms (in id order, so two writers cannot deadlock) and return their current members, newest
    envelope id and roster head, and for each (room, sender) of ``chains`` the sender's chain end there.

    Membership changes lock the room too, so they wait for this transaction, and so do other batches for the room:
    its envelopes commit in id order. A room that does not exist is missing from the result. SQLite has no row locks:
    its transactions take the write lock up front.

    Two statements, the lock and then the read: a statement that waited for a lock still reads other rows as they
    were when it began (Postgres's READ COMMITTED), so a member added or an envelope stored by the transaction it
    waited for would be missing from what it read.
    """
    room_ids = sorted(room_ids)
    if not room_ids:
        return {}
    connection = _connection()
    room_pk = Room._meta.pk
    qn = connection.ops.quote_name
    membership, room, envelope = (qn(m._meta.db_table) for m in (Membership, Room, Envelope))
    placeholders = ", ".join(["%s"] * len(room_ids))
    params = [room_pk.get_db_prep_value(r, connection) for r in room_ids]
    # Quoted identifiers and placeholders only: every value is a parameter.
    if connection.features.has_select_for_update:
        lock = f"SELECT {qn(room_pk.column)} FROM {room} WHERE {qn(room_pk.column)} IN ({placeholders}) "  # noqa: S608
        _fetch(connection, f"{lock}ORDER BY {qn(room_pk.column)} FOR UPDATE", params)
    # Each room's newest id once (one step back along the (room, id) index) and its roster head, then its members:
    # a subquery beside each member row would run once per member. Then each sender's chain end,
    # one step back along the (room, sender, chain_seq) index each (a MAX over an IN list would read them all), from
    # one list of (room, sender) pairs: one subquery for the planner, however many senders.
    chains = sorted(set(chains))
    pairs = ", ".join(["(%s, %s)"] * len(chains))
    chain_end = (
        f" UNION ALL SELECT pair.column1, pair.column2, (SELECT MAX({qn('chain_seq')}) FROM {envelope} "  # noqa: S608
        f"WHERE {qn('room_id')} = pair.column1 AND {qn('sender_id')} = pair.column2), {_CHAIN_ROW}, NULL "
        f"FROM (VALUES {pairs}) AS pair"
    )
    chain_params = [
        value for room_id, sender in chains for value in (room_pk.get_db_prep_value(room_id, connection), sender)
    ]
    read = (
        f"SELECT {room}.{qn(room_pk.column)}, NULL, (SELECT MAX({envelope}.{qn('id')}) FROM {envelope} "  # noqa: S608
        f"WHERE {envelope}.{qn('room_id')} = {room}.{qn(room_pk.column)}), "
        f"{room}.{qn('roster_seq')}, {room}.{qn('roster_head')} FROM {room} "
        f"WHERE {room}.{qn(room_pk.column)} IN ({placeholders}) UNION ALL "
        f"SELECT {qn('room_id')}, {qn('user_id')}, "
        f"CASE WHEN {qn('accepted_at')} IS NULL THEN 0 ELSE 1 END, NULL, NULL FROM {membership} "
        f"WHERE {qn('room_id')} IN ({placeholders}) AND {qn('left_at')} IS NULL"
        f"{chain_end if chains else ''}"
    )
    rooms: dict[uuid.UUID, LockedRoom] = {}
    ends: list[tuple[uuid.UUID, int, int]] = []
    for room_id, user_id, newest, roster_seq, roster_head in _fetch(connection, read, params + params + chain_params):
        if roster_seq == _CHAIN_ROW:
            ends.append((_as_uuid(room_id), user_id, newest or 0))
            continue
        locked = rooms.setdefault(_as_uuid(room_id), LockedRoom())
        if user_id is None:
            locked.newest = newest or 0
            locked.roster_seq = roster_seq
            locked.roster_head = None if roster_head is None else bytes(roster_head)
        else:
            locked.members.add(user_id)
            if newest:  # a member row's third column: whether they accepted
                locked.accepted.add(user_id)
    for room_id, sender, end in ends:
        if room_id in rooms:
            rooms[room_id].chain_ends[sender] = end
    return rooms


def insert_envelopes(envelopes: list[Envelope]) -> None:
    """INSERT the unsaved ``envelopes`` in one statement; each gets its ``id`` (and ``server_time``) set.

    Raises ``IntegrityError`` like ``bulk_create`` when one of them is a resend (the idempotency index).
    """
    if not envelopes:
        return
    connection = _connection()
    fields = _insert_fields()
    qn = connection.ops.quote_name
    row = f"({', '.join(['%s'] * len(fields))})"
    pk = Envelope._meta.pk
    sql = (
        f"INSERT INTO {qn(Envelope._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join([row] * len(envelopes))} "
        f"RETURNING {qn(pk.column)}, {qn('sender_id')}, {qn('client_id')}"
    )
    params = [value for envelope in envelopes for value in _row(envelope, fields, connection)]
    # Matched by the idempotency key, not by position: SQLite does not promise RETURNING's order.
    rows = _fetch(connection, sql, params)
    ids = {(sender_id, _as_uuid(client_id)): envelope_id for envelope_id, sender_id, client_id in rows}
    for envelope in envelopes:
        envelope.id = ids[(envelope.sender_id, envelope.client_id)]
        envelope._state.adding = False
        envelope._state.db = connection.alias


def _connection() -> BaseDatabaseWrapper:
    """The connection itself, not ``django.db.connection``'s proxy (a context-local lookup per attribute)."""
    return connections[DEFAULT_DB_ALIAS]


def _fetch(connection: BaseDatabaseWrapper, sql: str, params: list[object]) -> list[tuple]:
    """Run ``sql`` and return its rows; database errors are Django's, as from any cursor.

    On Postgres the values travel apart from the statement (server-side binding): Django's cursors splice
    them into the SQL text in Python, which for a batch of ciphertexts cost more than the insert. The statement goes
    with Postgres's own numbered placeholders through a raw cursor: psycopg's cursors find the ``%s`` placeholders
    anew for every statement of over 50 values (docs/PERFORMANCE.md).
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.RawCursor(connection.connection) as cursor:
        cursor.execute(_numbered(sql), params)
        return cursor.fetchall()


@functools.lru_cache(maxsize=256)
def _numbered(sql: str) -> str:
    """``sql`` with its ``%s`` placeholders as ``$1``, ``$2``, … (the statements here hold no other ``%``).

    Few texts recur: one per batch size, and one per number of rooms in a batch.
    """
    numbers = itertools.count(1)
    return re.sub("%s", lambda _: f"${next(numbers)}", sql)


def _row(envelope: Envelope, fields: list[Field], connection: BaseDatabaseWrapper) -> list[object]:
    """The envelope's values for the INSERT, as ``bulk_create`` would prepare them.

    On Postgres a value is sent as the attribute holds it (psycopg adapts UUIDs, aware datetimes, integers and bytes
    as Django would), once the fields that set their own value (``auto_now_add``) have set it, and JSON fields as
    JSONB: the fields' own preparation was a large share of the CPU of storing a batch (docs/PERFORMANCE.md).
    Elsewhere each field prepares its value.
    """
    if connection.vendor != "postgresql":
        return [f.get_db_prep_save(f.pre_save(envelope, True), connection) for f in fields]
    from psycopg.types.json import Jsonb

    for field in _SET_ON_INSERT:
        field.pre_save(envelope, True)
    return [Jsonb(getattr(envelope, f.attname)) if f in _JSON else getattr(envelope, f.attname) for f in fields]


def _insert_fields() -> list[Field]:
    return [f for f in Envelope._meta.concrete_fields if not f.primary_key]


# Derived once from the model: the fields whose value is set as the row is inserted, and the JSON fields.
_SET_ON_INSERT = [f for f in _insert_fields() if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
_JSON = {f for f in _insert_fields() if isinstance(f, JSONField)}


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)
