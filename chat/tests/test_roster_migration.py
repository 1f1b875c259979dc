"""Migrating to rosters keeps every room as it was: nothing can be signed for it, so it has no roster (a room from
before rosters), its name moves to ``legacy_name`` and its old invite link keeps working; and back again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("chat", "0002_envelope_wraps_blob"), ("accounts", "0001_initial")]
AFTER = [("chat", "0003_rosters"), ("accounts", "0002_audit_room_changed")]


def migrate(targets: list[tuple[str, str]]) -> object:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def at_the_latest() -> Iterator[None]:
    yield
    # Whatever the test did, the next one finds the schema it expects: every app at its newest migration.
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_rooms_from_before_keep_their_members_name_and_link_and_get_no_roster(at_the_latest: None) -> None:
    old = migrate(BEFORE)
    user = old.get_model("accounts", "User").objects.create(username="alice")
    room = old.get_model("chat", "Room").objects.create(name="Plans", owner_id=user.pk, policy="link")
    old.get_model("chat", "Membership").objects.create(room_id=room.id, user_id=user.pk)
    token = room.invite_token

    new = migrate(AFTER)
    migrated = new.get_model("chat", "Room").objects.get(id=room.id)
    assert (migrated.legacy_name, migrated.invite_token, migrated.policy) == ("Plans", token, "link")
    assert (migrated.roster_seq, migrated.roster_head, migrated.link_pub) == (None, None, None)
    assert new.get_model("chat", "Membership").objects.get(room_id=room.id).role == "member"
    # A room made with a roster has no token; going back gives it one, so the old schema holds.
    fresh = new.get_model("chat", "Room").objects.create(owner_id=user.pk, roster_seq=0, roster_head=bytes(32))
    assert fresh.invite_token is None

    back = migrate(BEFORE)
    rooms = {row.id: row for row in back.get_model("chat", "Room").objects.all()}
    assert (rooms[room.id].name, rooms[room.id].invite_token) == ("Plans", token)
    assert len(rooms[fresh.id].invite_token) == 43
