"""A room is no way around the key directory (issue 19, points 3 and 8): an add names only someone its actor shares a
room with or looked up by name, and answers anyone else like an id no account has."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.tests.factories import api_client
from chat.tests.factories import make_user
from chat.tests.rosters import make_room
from toolkit.errors import ApiError

pytestmark = [pytest.mark.django_db(transaction=True)]


def refusal_of_add(chain: Any, actor: Any, member_id: int, key_version: int) -> tuple[str, str]:
    body = chain.body(actor, "add", member=actor)  # then name the member by id alone, as a stranger can
    body["members"] = [[member_id, key_version]]
    with pytest.raises(ApiError) as refused:
        chain.submit(actor, chain.sign(actor, body))
    return refused.value.code, refused.value.detail


def test_adding_an_id_to_ones_own_room_does_not_tell_whether_the_account_exists_or_its_key_version() -> None:
    """``_check_current_keys`` answers "No user with id N" for a free id and "User N's keys changed: their current
    key version is V" for an account named at a wrong version: a stranger walks every id, unthrottled, and learns
    which exist and how often each reset their keys, without adding anyone and without any key."""
    mallory, alice = make_user("mallory"), make_user("alice")
    _, chain = make_room(mallory)
    existing = refusal_of_add(chain, mallory, alice.pk, 999)
    missing = refusal_of_add(chain, mallory, alice.pk + 1000, 999)
    assert existing == missing, f"{existing} != {missing}"


def test_a_stranger_cannot_list_someones_keys_by_adding_her_to_his_room_first(client: Any) -> None:
    """The directory answers by id for anyone who is in a room with the asker; if adding took only her id and key
    version (1 for almost everyone), ``/api/keys?ids=`` would list every account: add them, then ask. The add is
    refused like one of an id no account has, and the directory still leaves her out."""
    mallory, alice = make_user("mallory"), make_user("alice")
    _, chain = make_room(mallory)
    assert refusal_of_add(chain, mallory, alice.pk, 1) == refusal_of_add(chain, mallory, alice.pk + 1000, 1)
    asker = api_client()
    asker.force_login(mallory)
    listed = asker.get(f"/api/keys?ids={alice.pk}").json()["keys"]
    assert [entry.get("username") for entry in listed] == [], "alice's name and keys, to a stranger"
