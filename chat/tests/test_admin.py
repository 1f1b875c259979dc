"""The staff console: staff only, read-only, fast on big tables, ciphertext only."""

import base64
import csv
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditEvent, User
from chat.models import Envelope, Room, RosterEntry
from chat.tests.factories import store_envelopes

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    "/admin/",
    "/admin/chat/envelope/",
    "/admin/chat/room/",
    "/admin/chat/rosterentry/",
    "/admin/accounts/user/",
    "/admin/accounts/auditevent/",
]


def make_envelopes(room: Room, sender: User, count: int, *, age_days: int = 0) -> list[Envelope]:
    envelopes = store_envelopes(room, sender, count)
    if age_days:
        Envelope.objects.filter(id__in=[e.id for e in envelopes]).update(
            server_time=timezone.now() - timedelta(days=age_days)
        )
    return envelopes


@pytest.fixture
def staff(admin_user: User) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def envelopes(room: Room, users: dict[str, User]) -> list[Envelope]:
    return make_envelopes(room, users["alice"], 3)


@pytest.mark.django_db(transaction=True)
def test_staff_see_every_console_page_and_detail(staff: Client, envelopes: list[Envelope], room: Room) -> None:
    for url in [
        *ADMIN_PAGES,
        f"/admin/chat/envelope/{envelopes[0].id}/change/",
        f"/admin/chat/room/{room.id}/change/",
        f"/admin/chat/rosterentry/{RosterEntry.objects.first().id}/change/",
        f"/admin/accounts/user/{room.owner_id}/change/",
        f"/admin/accounts/auditevent/{AuditEvent.objects.first().id}/change/",
    ]:
        response = staff.get(url)
        assert response.status_code == 200, url
        assert b"SecureChat administration" in response.content


@pytest.mark.django_db(transaction=True)
def test_the_envelope_detail_shows_the_blobs_as_base64(staff: Client, envelopes: list[Envelope]) -> None:
    envelope = envelopes[0]
    page = staff.get(f"/admin/chat/envelope/{envelope.id}/change/").content.decode()
    for blob in (envelope.ciphertext, envelope.signature, envelope.iv, envelope.eph_pub):
        assert base64.b64encode(bytes(blob)).decode() in page
    assert len(envelope.wrap_ids) == 2
    assert wraps_text(envelope, ": ", "; ") in page


def wraps_text(envelope: Envelope, between: str, separator: str) -> str:
    """Each "<id><between><base64 of its 40 bytes>", joined: what the console shows of the concatenated wraps."""
    wraps = bytes(envelope.wraps)
    return separator.join(
        f"{member}{between}{base64.b64encode(wraps[40 * i : 40 * (i + 1)]).decode()}"
        for i, member in enumerate(envelope.wrap_ids)
    )


@pytest.mark.django_db(transaction=True)
def test_users_list_shows_key_fingerprints_and_rooms(staff: Client, room: Room, users: dict[str, User]) -> None:
    from accounts.keys import fingerprint

    page = staff.get("/admin/accounts/user/").content.decode()
    assert fingerprint(users["alice"].identity.signing_public_key) in page
    detail = staff.get(f"/admin/accounts/user/{users['bob'].pk}/change/").content.decode()
    # Rooms are ids: their names travel sealed in their rosters.
    assert str(room.id) in detail and "Plans" not in detail


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_anonymous_and_non_staff_users_are_refused(url: str, django_user_model: type[User]) -> None:
    assert Client().get(url).status_code == 302
    member = Client()
    member.force_login(django_user_model.objects.create_user("member", password="x" * 12))
    response = member.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db(transaction=True)
def test_envelopes_cannot_be_added_changed_or_deleted(staff: Client, envelopes: list[Envelope]) -> None:
    envelope = envelopes[0]
    assert staff.get("/admin/chat/envelope/add/").status_code == 403
    assert staff.post(f"/admin/chat/envelope/{envelope.id}/change/", {"size": 1}).status_code == 403
    assert staff.post(f"/admin/chat/envelope/{envelope.id}/delete/", {"post": "yes"}).status_code == 403
    assert Envelope.objects.filter(id=envelope.id, size=272).exists()


@pytest.mark.django_db(transaction=True)
def test_filters_and_search_return_the_right_rows(staff: Client, room: Room, users: dict[str, User]) -> None:
    from chat.tests.rosters import make_room

    other, _ = make_room(users["bob"], name="Elsewhere")
    mine = make_envelopes(room, users["alice"], 2)
    theirs = make_envelopes(other, users["bob"], 3)

    def listed(query: str) -> set[int]:
        response = staff.get(f"/admin/chat/envelope/?{query}")
        return {e.id for e in response.context["cl"].result_list}

    assert listed(f"room={room.id}") == {e.id for e in mine}
    assert listed(f"sender={users['bob'].pk}") == {e.id for e in theirs}
    assert listed("q=bob") == {e.id for e in theirs}
    assert listed("q=alice") == {e.id for e in mine}
    assert listed("q=Elsewhere") == set()  # the server has no room names to search
    today = timezone.now()
    assert len(listed(f"server_time__year={today.year}")) == 5


@pytest.mark.django_db(transaction=True)
def test_rooms_and_roster_entries_are_shown_by_id_never_by_name(staff: Client, room: Room, users) -> None:
    from chat.tests.rosters import make_room

    make_room(users["bob"], users["carol"], name="Surprise party")
    pages = [
        "/admin/chat/room/",
        f"/admin/chat/room/{room.id}/change/",
        "/admin/chat/rosterentry/",
        f"/admin/chat/envelope/?room={room.id}",
        *(f"/admin/chat/rosterentry/{entry.id}/change/" for entry in RosterEntry.objects.all()),
    ]
    for url in pages:
        page = staff.get(url).content.decode()
        assert "Plans" not in page and "Surprise party" not in page, url
    assert str(room.id) in staff.get("/admin/chat/room/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_roster_entry_is_shown_as_stored_and_cannot_be_changed(staff: Client, room: Room) -> None:
    entry = RosterEntry.objects.get(room=room, seq=1)
    listing = staff.get(f"/admin/chat/rosterentry/?room={room.id}")
    assert [row.seq for row in listing.context["cl"].result_list] == [1, 0]
    assert f'<td class="field-size">{len(entry.body)}</td>' in listing.content.decode()
    page = staff.get(f"/admin/chat/rosterentry/{entry.id}/change/").content.decode()
    assert base64.b64encode(bytes(entry.signature)).decode() in page
    assert base64.b64encode(bytes(entry.hash)).decode() in page
    assert entry.body.replace('"', "&quot;") in page  # the signed record, as received (escaped as HTML)
    assert staff.get("/admin/chat/rosterentry/add/").status_code == 403
    assert staff.post(f"/admin/chat/rosterentry/{entry.id}/change/", {"seq": 5}).status_code == 403
    assert staff.post(f"/admin/chat/rosterentry/{entry.id}/delete/", {"post": "yes"}).status_code == 403
    assert RosterEntry.objects.get(id=entry.id).body == entry.body


@pytest.mark.django_db(transaction=True)
def test_the_csv_export_holds_ciphertext_and_metadata_only(staff: Client, envelopes: list[Envelope]) -> None:
    response = staff.post(
        "/admin/chat/envelope/",
        {"action": "export_csv", "_selected_action": [e.id for e in envelopes]},
    )
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["id"]) for r in rows] == sorted(e.id for e in envelopes)
    assert set(rows[0]) == {
        "id", "room", "sender", "server_time", "client_time", "version", "size", "client_id",
        "eph_pub", "iv", "ciphertext", "signature", "wraps",
    }  # fmt: skip
    assert rows[0]["ciphertext"] == base64.b64encode(bytes(envelopes[0].ciphertext)).decode()
    assert rows[0]["wraps"] == wraps_text(envelopes[0], ":", ";")


@pytest.mark.django_db(transaction=True)
def test_the_envelope_list_costs_the_same_queries_for_10_or_300_rows(staff: Client, room: Room, users) -> None:
    make_envelopes(room, users["alice"], 10)
    with CaptureQueriesContext(connection) as few:
        assert staff.get("/admin/chat/envelope/").status_code == 200
    make_envelopes(room, users["alice"], 290)
    with CaptureQueriesContext(connection) as many:
        assert staff.get("/admin/chat/envelope/").status_code == 200
    assert len(many) == len(few)
    assert not any("COUNT(*)" in q["sql"] and "LIMIT" not in q["sql"] for q in many.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_purge_envelopes_removes_exactly_the_old_rows(room: Room, users: dict[str, User]) -> None:
    old = make_envelopes(room, users["alice"], 7, age_days=40)
    recent = make_envelopes(room, users["alice"], 4, age_days=10)
    out = io.StringIO()
    call_command("purge_envelopes", "--older-than", "30", "--dry-run", stdout=out)
    assert "Would delete 7 envelopes" in out.getvalue()
    assert Envelope.objects.count() == 11
    call_command("purge_envelopes", "--older-than", "30", "--batch-size", "3", stdout=out)
    assert "Deleted 7 envelopes older than 30 days" in out.getvalue()
    assert set(Envelope.objects.values_list("id", flat=True)) == {e.id for e in recent}
    assert not Envelope.objects.filter(id__in=[e.id for e in old]).exists()
    event = AuditEvent.objects.get(action="envelopes_purged")
    assert event.detail["deleted"] == 7 and event.detail["older_than_days"] == 30


def test_staff_log_in_is_throttled_and_audited(admin_user: User) -> None:
    client = Client()
    for _ in range(5):
        response = client.post("/admin/login/", {"username": admin_user.username, "password": "wrong"})
        assert response.status_code == 200
    response = client.post("/admin/login/", {"username": admin_user.username, "password": "password"})
    assert response.status_code == 429
    assert b"Too many failed log-in attempts" in response.content
    assert AuditEvent.objects.filter(action="login_failed", detail__console="admin").count() == 5


def test_strangers_failed_staff_log_ins_do_not_lock_the_operator_out_of_her_office(admin_user: User) -> None:
    """Failures from other addresses refuse those addresses (and, past the account's count, give each new address
    one try at a time); the operator, from the office she signed in from, still signs in."""
    office = "198.51.100.7"
    right = {"username": admin_user.username, "password": "password"}
    assert Client(REMOTE_ADDR=office).post("/admin/login/?next=/admin/", right).status_code == 302
    failures = 0
    for index in range(1, 12):
        stranger = Client(REMOTE_ADDR=f"203.0.113.{index}")
        for _ in range(6):  # five tries at most, then refused
            if (answer := stranger.post("/admin/login/", {**right, "password": "wrong"})).status_code != 200:
                break
            failures += 1
        assert answer.status_code == 429
        assert stranger.post("/admin/login/", right).status_code == 429
    assert Client(REMOTE_ADDR=office).post("/admin/login/?next=/admin/", right).status_code == 302
    assert failures > 20  # the strangers used up the account's count too


def test_staff_log_in_works_with_the_right_password(admin_user: User) -> None:
    response = Client().post("/admin/login/?next=/admin/", {"username": admin_user.username, "password": "password"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="login_ok", user=admin_user).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner estimate is Postgres's")
def test_a_big_table_is_paged_on_the_planner_estimate_without_counting(staff: Client, room: Room, users) -> None:
    from toolkit.paginators import COUNT_CAP

    make_envelopes(room, users["alice"], COUNT_CAP + 500)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE chat_envelope")
    with CaptureQueriesContext(connection) as queries:
        response = staff.get("/admin/chat/envelope/")
    assert response.context["cl"].result_count >= COUNT_CAP
    assert not any("COUNT(" in q["sql"] for q in queries.captured_queries)
