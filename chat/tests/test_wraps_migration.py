"""chat/migrations/0002: stored wraps maps become ids and one blob, losslessly, and back; signatures still verify."""

from __future__ import annotations

import base64
import importlib
import os

import pytest

from chat.tests.test_envelope_vectors import envelope, signing_public_key
from tests import reference_envelope as ref

migration = importlib.import_module("chat.migrations.0002_envelope_wraps_blob")

# The vector's wraps as they were stored and sent before: a map of member id to base64.
VECTOR_WRAPS_MAP = {
    "3": "2c3sImj2OWrYKWT/0g6DvfiAoZQwfysOMhupOm9Lpdiz3o+x9Z9xtA==",
    "11": "6arA3EaMv/ZKoZV89LdHyzUKPgnmu3nY4ljJRVVcOu9bN5MMVwHRRw==",
}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_the_vectors_old_map_converts_to_its_new_ids_and_blob_and_back() -> None:
    env = envelope()
    ids, blob = migration.blob_from_map(VECTOR_WRAPS_MAP)
    assert (ids, b64(blob)) == (env["wrap_ids"], env["wraps"])
    assert migration.map_from_blob(ids, blob) == VECTOR_WRAPS_MAP


def test_a_converted_envelope_keeps_its_signature() -> None:
    env = envelope()
    ids, blob = migration.blob_from_map(VECTOR_WRAPS_MAP)
    converted = {**env, "wrap_ids": ids, "wraps": b64(blob)}
    assert ref.verify(converted, signing_public_key())
    # Converting in string order ("11" < "3") would have put the wraps in the wrong places.
    swapped = {**converted, "wraps": b64(blob[40:] + blob[:40])}
    assert not ref.verify(swapped, signing_public_key())


def test_ids_are_ordered_by_number_and_each_wrap_stays_with_its_member() -> None:
    wraps = {member: os.urandom(40) for member in (11, 3, 100, 2**63 - 1)}
    ids, blob = migration.blob_from_map({str(member): b64(wrap) for member, wrap in wraps.items()})
    assert ids == [3, 11, 100, 2**63 - 1]
    assert blob == b"".join(wraps[member] for member in ids)


@pytest.mark.parametrize("members", [1, 2, 256])
def test_round_trips_for_any_room_size(members: int) -> None:
    old = {str(member): b64(os.urandom(40)) for member in range(1, members + 1)}
    ids, blob = migration.blob_from_map(old)
    assert len(blob) == 40 * members
    assert migration.map_from_blob(ids, memoryview(blob)) == old  # Postgres hands bytea back as a memoryview


@pytest.mark.parametrize(
    "old",
    [{}, {"3": b64(bytes(39))}, {"3": b64(bytes(40)), "11": b64(bytes(41))}, {"3": "not base64"}],
    ids=["empty", "39 bytes", "41 bytes", "not base64"],
)
def test_a_row_that_was_never_valid_stops_the_migration(old: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        migration.blob_from_map(old)


@pytest.mark.parametrize(("ids", "size"), [([], 0), ([3], 39), ([3, 11], 40), ([3], 80)])
def test_a_blob_of_the_wrong_length_stops_the_way_back(ids: list[int], size: int) -> None:
    with pytest.raises(ValueError):
        migration.map_from_blob(ids, bytes(size))
