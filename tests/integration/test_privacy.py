"""Export, account deletion and retention, driven by the ownership map.

Every personal table is seeded through a generic row factory that reads the schema, so a
new table in the map is exported, purged and tested without editing this file.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from croniter import croniter
from procrastinate.periodic import PeriodicDeferrer
from starlette.applications import Starlette
from starlette.routing import Route

from assetry import db, security, web
from assetry.config import get_settings
from assetry.errors import BadInput, NotAllowed
from assetry.integrations.storage import export_key
from assetry.jobs import engine
from assetry.models import (
    ActiveDay,
    AuditEntry,
    AuthSession,
    ConnectedAccount,
    DailyActiveCount,
    DataExport,
    FormSubmission,
    Generation,
    GenerationOutput,
    LoginAttempt,
    OutboxMessage,
    SupportMessage,
    UsageEvent,
    User,
    metadata,
)
from assetry.models.base import utcnow
from assetry.models.runs import SUCCEEDED
from assetry.services import (
    accounts,
    audit,
    contact,
    covers,
    media,
    ownership,
    password_reset,
    privacy,
    profile,
    usage,
)
from assetry.services.accounts import SESSION_COOKIE
from assetry.token_vault import vault
from tests.account_setup import SignUp, create_account
from tests.jobs import engine_jobs, queued_job, run_jobs

PASSWORD = "Correct-Horse-42"
HERE = accounts.Client(ip="203.0.113.7", user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0")


@dataclass
class Person:
    user: User
    token: str
    marker: str
    secrets: list[str] = field(default_factory=list)
    media_keys: list[str] = field(default_factory=list)


async def sign_up(email: str) -> tuple[User, str]:
    return await create_account(
        SignUp(email=email, password=PASSWORD, age_confirmed=True, accepted_policies=True), HERE
    )


def _value(column: sa.Column, marker: str):
    """A plausible value for a column, carrying the person's marker where it is text."""
    kind = column.type.impl if isinstance(column.type, sa.TypeDecorator) else column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer | sa.BigInteger):
        return 7
    if isinstance(kind, sa.Float | sa.Numeric):
        return 1.5
    if isinstance(kind, sa.DateTime):
        return utcnow()
    if isinstance(kind, sa.Date):
        return date.today()
    if isinstance(kind, sa.Uuid):
        return uuid.uuid4()
    if isinstance(kind, sa.JSON):
        return {"note": marker}
    if isinstance(kind, sa.String):
        return f"{marker}{uuid.uuid4().hex}"[: kind.length or 64]
    raise AssertionError(f"no value for {column.table.name}.{column.name} ({kind!r})")


# Tables the database keeps from others (migration 0020's stored figures), never written directly.
KEPT_BY_THE_DATABASE = {"post_figures", "growth_quarters", "snapshot_reasons"}


async def seed(person: Person) -> None:
    """One row in every personal table of the map (and one audit entry), for this person.

    Parents are made as needed; secrets get known values so the export can be scanned for them.
    """
    user, marker = person.user, person.marker
    plain_access, plain_refresh = f"{marker}-plain-access", f"{marker}-plain-refresh"
    sealer = vault(get_settings())
    overrides = {
        "connected_accounts": {
            "platform": "instagram",
            "access_token_enc": sealer.seal(plain_access),
            "refresh_token_enc": sealer.seal(plain_refresh),
        },
        "oauth_states": {"code_verifier": f"{marker}-verifier-{uuid.uuid4().hex}"},
        "generation_outputs": {"content_type": "image/png", "position": 0, "text": f"{marker} caption"},
        "sync_runs": {"status": SUCCEEDED, "cursor": f"{marker}-cursor"},
        "data_exports": {"status": SUCCEEDED},
        "posts": {"source": "own"},  # its snapshot then counts in the creator's growth
    }
    made: dict[str, uuid.UUID] = {}

    async def make(session, table: sa.Table) -> uuid.UUID | None:
        if table.name in made:
            return made[table.name]
        if table.name in KEPT_BY_THE_DATABASE:  # filled from the snapshot made before
            return None
        entry = ownership.MAP[table.name]
        values = {}
        for column in table.c:
            if column.name in overrides.get(table.name, {}):
                values[column.name] = overrides[table.name][column.name]
            elif column.foreign_keys:
                (fk,) = column.foreign_keys
                target = fk.column.table
                if target.name == "users":
                    values[column.name] = user.id
                elif target is not table:
                    values[column.name] = await make(session, target)
            elif entry.relation == ownership.EMAIL and column.name == entry.column:
                values[column.name] = user.email
            else:
                values[column.name] = _value(column, marker)
        await session.exec(table.insert().values(values))
        made[table.name] = values["id"]
        return values["id"]

    async with db.service_session() as session:
        for entry in ownership.entries():
            if entry.relation in (*ownership.PERSONAL, ownership.ACTOR) and entry.table != "users":
                await make(session, metadata.tables[entry.table])
        # A stored file for the generation output.
        output_table = metadata.tables["generation_outputs"]
        output = (await session.exec(sa.select(output_table).where(output_table.c.user_id == user.id))).one()
        key = media.key_for(user.id, output.generation_id, 0, "image/png")
        await session.exec(
            sa.update(output_table)
            .where(output_table.c.id == output.id)
            .values(storage_key=key, size_bytes=9)
        )
    await media.store().put(key, f"{marker}-png".encode(), "image/png")
    # And the library's cover beside it (services.covers).
    await media.store().put(covers.key_of(key), f"{marker}-cover".encode(), covers.CONTENT_TYPE)
    person.media_keys += [key, covers.key_of(key)]
    person.secrets += [plain_access, plain_refresh, person.token, security.token_digest(person.token)]
    person.secrets.append(f"{marker}-payload")


async def person(email: str) -> Person:
    user, token = await sign_up(email)
    found = Person(user=user, token=token, marker=f"mk{uuid.uuid4().hex[:6]}")
    async with db.service_session() as session:
        found.secrets.append((await session.get(User, user.id)).password_hash)
    await seed(found)
    return found


async def counts(user: User) -> dict[str, int]:
    """Rows of this user per table, through the map (audit entries by actor)."""
    found = {}
    async with db.service_session() as session:
        for entry in ownership.entries():
            if entry.relation == ownership.NOT_PERSONAL:
                continue
            table = metadata.tables[entry.table]
            where = ownership.rows_of(entry, user.id, user.email)
            found[entry.table] = await session.scalar(
                sa.select(sa.func.count()).select_from(table).where(where)
            )
    return found


async def reload(model, key):
    async with db.service_session() as session:
        return await session.get(model, key)


@pytest.fixture
async def pair(database: str) -> tuple[Person, Person]:
    return await person("maya@example.com"), await person("theo@example.com")


# ----- delete -----------------------------------------------------------------------------


async def test_deletion_removes_every_row_and_file_of_the_user_and_nothing_else(
    pair: tuple[Person, Person], monkeypatch: pytest.MonkeyPatch
) -> None:
    maya, theo = pair
    monkeypatch.setenv("DELETION_GRACE_DAYS", "0")
    get_settings.cache_clear()
    archive = export_key(maya.user.id, uuid.uuid4())
    await privacy.build_export(maya.user.id, uuid.UUID(archive[-40:-4]))
    assert await media.store().size(archive)
    before_maya, before_theo = await counts(maya.user), await counts(theo.user)
    assert all(before_maya.values()), f"the seed missed a table: {before_maya}"

    await privacy.request_deletion(maya.user.id, PASSWORD)

    # At once: logged out everywhere, no log-in, tokens gone.
    assert await accounts.user_for_token(maya.token) is None
    with pytest.raises(NotAllowed, match=re.escape(accounts.WRONG_CREDENTIALS)):
        await accounts.log_in("maya@example.com", PASSWORD, HERE)
    assert (await counts(maya.user))["connected_accounts"] == 0

    await run_jobs()
    assert [job.status for job in await engine_jobs(privacy.PURGE_KIND)] == ["succeeded"]

    after = await counts(maya.user)
    assert after == dict.fromkeys(after, 0)
    assert await counts(theo.user) == before_theo
    assert [await media.store().size(key) for key in maya.media_keys] == [None, None]  # the file, its cover
    assert await media.store().size(archive) is None
    assert [await media.store().size(key) for key in theo.media_keys] == [
        len(f"{theo.marker}-png"),
        len(f"{theo.marker}-cover"),
    ]
    async with db.service_session() as session:
        entries = (await session.exec(sa.select(AuditEntry.action, AuditEntry.target))).all()
    # The audit log keeps what happened to the account, under one reference that names nobody.
    about_maya = {target for action, target in entries if action.startswith("account.")}
    assert str(maya.user.id) not in {target for _, target in entries}
    (reference,) = about_maya - {str(theo.user.id)}
    assert reference.startswith("deleted account ")
    assert {"account.created", "account.deletion_requested", "account.purged"} <= {
        action for action, target in entries if target == reference
    }
    [purge_job] = await engine_jobs(privacy.PURGE_KIND)  # its own row names nobody
    assert (purge_job.args, purge_job.queueing_lock) == ({}, None)
    assert await accounts.user_for_token(theo.token) is not None


def _needles(user: User) -> list[str]:
    return [user.email.lower(), user.display_name.lower(), str(user.id), user.id.hex]


async def mentions(needles: list[str]) -> list[str]:
    """Every table.column (text, JSON or UUID) of the schema whose value contains one of the needles."""
    found = []
    async with db.service_session() as session:
        for table in metadata.sorted_tables:
            for column in table.c:
                kind = column.type.impl if isinstance(column.type, sa.TypeDecorator) else column.type
                if not isinstance(kind, sa.String | sa.Text | sa.JSON | sa.Uuid):
                    continue
                text = sa.func.lower(sa.cast(column, sa.Text))
                hits = await session.scalars(
                    sa.select(text).where(sa.or_(*(text.contains(n, autoescape=True) for n in needles)))
                )
                found += [f"{table.name}.{column.name}: {value[:80]}" for value in hits.all()]
        # The job engine's tables are not in our models: read their text and JSON columns by name.
        engine_columns = await session.exec(
            sa.text(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name LIKE 'procrastinate%' AND data_type IN ('text', 'character varying', 'jsonb', 'uuid')"
            )
        )
        for table, column in engine_columns.all():
            text = f"lower({column}::text)"
            hits = await session.scalars(
                sa.text(
                    f"SELECT {text} FROM {table} WHERE "
                    + " OR ".join(f"strpos({text}, :n{i}) > 0" for i in range(len(needles)))
                ),
                params={f"n{i}": n for i, n in enumerate(needles)},
            )
            found += [f"{table}.{column}: {value[:80]}" for value in hits.all()]
    return found


@pytest.mark.parametrize("mail_mode", ["outbox", "smtp"])
async def test_after_the_purge_no_table_names_the_person(
    database: str, mail_mode: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if mail_mode == "smtp":
        request.getfixturevalue("smtp_server")
    monkeypatch.setenv("DELETION_GRACE_DAYS", "0")
    get_settings.cache_clear()
    maya = await person("maya.quintana@example.com")
    theo = await person("theo@example.com")
    await profile.update_profile(maya.user.id, display_name="Maya Quintana-Rivers", time_zone="UTC")
    user = await reload(User, maya.user.id)
    # Rows that name her without being hers: a visitor's support message from her address, a
    # reset requested for it, an admin's view of her page, her waitlist invitation and an admin's
    # search for her in the audit log.
    await contact.send_support_message(
        email=user.email, subject="Hello", body="Before I signed up", name="Maya Q"
    )
    await password_reset.request_reset(user.email)
    admin_page = f"/admin/users/{user.id}"
    await usage.record(
        usage.PAGE_VIEW, admin_page, user_id=theo.user.id, referrer=f"http://localhost{admin_page}"
    )
    async with db.service_session() as session:
        audit.record(session, actor_id=theo.user.id, action="admin.waitlist_invited", target=user.email)
        audit.record(
            session, actor_id=theo.user.id, action="admin.waitlist_exported", detail=f"'{user.email}' 1"
        )
    assert len(await mentions(_needles(user))) > 10

    await privacy.request_deletion(maya.user.id, PASSWORD)
    await run_jobs()

    assert await reload(User, maya.user.id) is None
    assert await mentions(_needles(user)) == []
    assert await reload(User, theo.user.id) is not None
    assert await mentions([theo.user.email]) != []


async def test_a_purge_that_crashes_half_way_finishes_when_run_again(pair: tuple[Person, Person]) -> None:
    maya, theo = pair
    before_theo = await counts(theo.user)
    await privacy.request_deletion(maya.user.id, PASSWORD)
    steps: list[str] = []

    async def crash_after_five(table: str, _count: int) -> None:
        steps.append(table)
        if len(steps) == 5:
            raise RuntimeError("the worker died")

    with pytest.raises(RuntimeError):
        await privacy.purge_account(maya.user.id, on_step=crash_after_five)
    half = await counts(maya.user)
    assert half["users"] == 1 and sum(half.values()) > 0
    assert sum(1 for n in half.values() if n == 0) >= 3  # some tables were already purged

    await privacy.purge_account(maya.user.id)
    after = await counts(maya.user)
    assert after == dict.fromkeys(after, 0)
    assert await counts(theo.user) == before_theo
    assert await privacy.purge_account(maya.user.id) == {}  # a third run finds nothing to do


async def test_wrong_password_deletes_nothing(pair: tuple[Person, Person]) -> None:
    maya, _ = pair
    before = await counts(maya.user)
    for wrong in ("not-my-password", "", "x" * 2000):
        with pytest.raises(BadInput, match="Nothing was deleted"):
            await privacy.request_deletion(maya.user.id, wrong)
    assert await counts(maya.user) == before
    stored = await reload(User, maya.user.id)
    assert stored.deleted_at is None and not stored.is_disabled
    assert (await accounts.user_for_token(maya.token)).id == maya.user.id
    assert await engine_jobs(privacy.PURGE_KIND) == []


async def test_grace_period_keeps_data_until_due_then_purges(database: str) -> None:
    maya, _ = await sign_up("maya@example.com")
    due = await privacy.request_deletion(maya.id, PASSWORD)
    closed = await reload(User, maya.id)
    assert due == closed.deletion_due_at
    assert due - closed.deleted_at == timedelta(days=30)  # the policy: within 30 days, not a day more
    await run_jobs()
    assert [job.status for job in await engine_jobs(privacy.PURGE_KIND)] == ["todo"]  # waits for its due date
    assert await privacy.purge_due_accounts(now=due - timedelta(seconds=1)) == 0
    assert await reload(User, maya.id) is not None
    assert await privacy.purge_due_accounts(now=due) == 1
    assert await reload(User, maya.id) is None
    with pytest.raises(NotAllowed):
        await privacy.request_deletion(maya.id, PASSWORD)  # the account is gone


async def test_preview_says_what_will_happen(database: str) -> None:
    maya, _ = await sign_up("maya@example.com")
    steps = await privacy.deletion_preview(maya.id)
    text = " ".join(steps)
    assert "logged out at once on every browser" in text
    assert "In 30 days" in text and "0 generations and 0 files" in text
    assert "the emails we sent you" in text  # test_after_the_purge_no_table_names_the_person holds these true
    assert "no longer name you: no name, email or account id" in text
    assert "maya@example.com" in text


async def test_preview_names_platforms_properly_and_shows_only_real_handles_with_an_at(database: str) -> None:
    maya, _ = await sign_up("maya@example.com")
    async with db.service_session() as session:
        session.add(ConnectedAccount(user_id=maya.id, platform="tiktok", platform_account_id="1",
                                     display_name="Maya Fernandes"))  # fmt: skip
        session.add(ConnectedAccount(user_id=maya.id, platform="instagram", platform_account_id="2",
                                     username="maya.makes", display_name="Maya"))  # fmt: skip
    text = " ".join(await privacy.deletion_preview(maya.id))
    assert "TikTok Maya Fernandes" in text and "Instagram @maya.makes" in text
    assert "@Maya Fernandes" not in text and "Tiktok" not in text


def test_erased_by_says_when_on_the_persons_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    due = utcnow() + timedelta(days=30)
    paris = due.astimezone(ZoneInfo("Europe/Paris"))
    assert privacy.erased_by(due, "Europe/Paris") == (
        f"by {paris:%B} {paris.day}, {paris.year} at {paris:%H:%M} (Europe/Paris) (in 30 days)"
    )
    monkeypatch.setenv("DELETION_GRACE_DAYS", "0")
    get_settings.cache_clear()
    try:
        assert privacy.erased_by(utcnow(), "Europe/Paris") == "right away"
    finally:
        get_settings.cache_clear()


async def test_deletion_queues_the_confirmation_email(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    maya, _ = await sign_up("maya@example.com")
    await privacy.request_deletion(maya.id, PASSWORD)
    outbox = metadata.tables["outbox"]
    async with db.service_session() as session:
        rows = (await session.exec(sa.select(outbox))).all()
    assert any("maya@example.com" in str(row) for row in rows)


# ----- export -----------------------------------------------------------------------------


def _zip_text(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


async def _export_bytes(user_id: uuid.UUID) -> tuple[DataExport, bytes]:
    export = await privacy.request_export(user_id)
    await run_jobs()
    export = await reload(DataExport, export.id)
    assert export.status == SUCCEEDED, export.error
    return export, await stored_bytes(export_key(user_id, export.id))


async def stored_bytes(key: str) -> bytes:
    return b"".join([chunk async for chunk in media.store().stream(key)])


# Read here, not from the ownership map: the export test must not trust the map it checks.
SECRET_COLUMNS = {
    "users": ("password_hash", "email_token_hash"),
    "auth_sessions": ("token_hash",),
    "connected_accounts": ("access_token_enc", "refresh_token_enc"),
    "oauth_states": ("state_hash", "session_hash", "code_verifier"),
    "password_resets": ("token_hash",),
}


async def secrets_in_the_database() -> list[str]:
    """Every stored hash, verifier and sealed token of everyone, and the tokens they seal, opened."""
    found = []
    async with db.service_session() as session:
        for table, columns in SECRET_COLUMNS.items():
            rows = (await session.exec(sa.text(f"SELECT {', '.join(columns)} FROM {table}"))).all()
            found += [str(value) for row in rows for value in row if value]
    sealer = vault(get_settings())
    found += [sealer.open(value) for value in found if value.startswith("v1:")]
    return found


async def test_export_contains_every_kind_of_record_and_no_secret(pair: tuple[Person, Person]) -> None:
    maya, theo = pair
    job, archive = await _export_bytes(maya.user.id)
    files = _zip_text(archive)

    expected = {f"{e.export_as}.{ext}" for e in ownership.personal() for ext in ("json", "csv")}
    assert expected | {"captions.json", "captions.csv", "README.txt"} <= set(files)
    for entry in ownership.personal():
        records = json.loads(files[f"{entry.export_as}.json"])
        assert records, f"{entry.export_as}.json is empty"
        assert all(not (set(entry.secret) & set(record)) for record in records)
    account = json.loads(files["account.json"])
    assert [a["email"] for a in account] == ["maya@example.com"]
    assert json.loads(files["captions.json"])[0]["text"] == f"{maya.marker} caption"
    media_names = [name for name in files if name.startswith("media/")]
    # The file, and its cover beside it.
    [file_key, cover_key] = maya.media_keys
    assert {name: files[name] for name in media_names} == {
        "media/" + file_key.split("/", 1)[1]: f"{maya.marker}-png".encode(),
        "media/" + cover_key.split("/", 1)[1]: f"{maya.marker}-cover".encode(),
    }
    assert "generations.json" in files["README.txt"].decode()

    everything = b"\n".join(files.values())
    stored = await secrets_in_the_database()
    assert len(stored) >= 10, stored  # both people's hashes, sealed tokens and what they open to
    for secret in stored + maya.secrets + theo.secrets:
        assert secret.encode() not in everything, f"a secret leaked: {secret[:12]}…"
    assert theo.marker.encode() not in everything and b"theo@example.com" not in everything
    assert maya.marker.encode() in everything
    assert (await reload(DataExport, job.id)).size_bytes == len(archive)


async def test_export_of_a_user_with_no_data(database: str) -> None:
    user, _ = await sign_up("new@example.com")
    _, archive = await _export_bytes(user.id)
    files = _zip_text(archive)
    assert json.loads(files["account.json"])[0]["email"] == "new@example.com"
    assert json.loads(files["generations.json"]) == []
    assert files["generations.csv"].decode().startswith("id,user_id,kind,prompt")
    assert not [name for name in files if name.startswith("media/")]


async def test_the_export_csv_defuses_formulas_and_says_what_the_json_says(database: str) -> None:
    user, _ = await sign_up("maya@example.com")
    prompts = ['=HYPERLINK("http://evil.example","prize")', "@SUM(A1:A9)", "-5", "waves, at dusk"]
    async with db.service_session() as session:
        for prompt in prompts:
            session.add(Generation(user_id=user.id, kind="video", prompt=prompt, options={"note": "two\nlines"},
                                   provider="offline", model="offline-video", cost_usd=0.25, status=SUCCEEDED,
                                   finished_at=utcnow()))  # fmt: skip
    _, archive = await _export_bytes(user.id)
    files = _zip_text(archive)
    records = {record["id"]: record for record in json.loads(files["generations.json"])}
    rows = list(csv.DictReader(io.StringIO(files["generations.csv"].decode(), newline="")))

    assert sorted(record["prompt"] for record in records.values()) == sorted(prompts)
    # A spreadsheet app would run these two: a ' in front keeps them text; a number stays a number.
    assert sorted(row["prompt"] for row in rows) == sorted(
        ["'" + prompts[0], "'" + prompts[1], "-5", "waves, at dusk"]
    )
    for row in rows:
        record = records[row["id"]]
        assert json.loads(row["options"]) == record["options"] == {"note": "two\nlines"}
        assert float(row["cost_usd"]) == record["cost_usd"] == 0.25
        assert row["started_at"] == "" and record["started_at"] is None
        for moment in ("created_at", "finished_at"):  # ISO 8601 in UTC, the same in both files
            assert row[moment] == record[moment]
            assert datetime.fromisoformat(record[moment]).utcoffset() == timedelta(0)


async def test_export_requested_twice_is_one_job_then_a_new_one_after_it_ends(database: str) -> None:
    user, _ = await sign_up("maya@example.com")
    first, second = await asyncio.gather(privacy.request_export(user.id), privacy.request_export(user.id))
    assert first.id == second.id
    assert (await privacy.request_export(user.id)).id == first.id
    await run_jobs()
    status = await privacy.latest_export(user.id)
    assert (
        status.status == SUCCEEDED and status.percent == 100 and status.download_url.startswith("/exports/")
    )
    again = await privacy.request_export(user.id)
    assert again.id != first.id
    assert len(await engine_jobs(privacy.EXPORT_KIND)) == 2
    async with db.service_session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(DataExport)) == 2


@pytest.fixture
async def exported(database: str):
    maya, maya_token = await sign_up("maya@example.com")
    _, theo_token = await sign_up("theo@example.com")
    job, _ = await _export_bytes(maya.id)
    app = Starlette(routes=[Route("/exports/{token}", web.export_archive)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, maya, maya_token, theo_token, job


async def _get(client: httpx.AsyncClient, url: str, cookie: str = "") -> httpx.Response:
    client.cookies.clear()
    if cookie:
        client.cookies.set(SESSION_COOKIE, cookie)
    return await client.get(url)


async def test_download_link_serves_the_owner_only_and_refuses_tampered_or_expired_links(exported) -> None:
    client, maya, maya_token, theo_token, job = exported
    url = (await privacy.latest_export(maya.id)).download_url

    answer = await _get(client, url, maya_token)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    assert "README.txt" in _zip_text(answer.content)

    assert (await _get(client, url)).status_code == 403
    assert (await _get(client, url, theo_token)).status_code == 403
    body, mac = url.removeprefix("/exports/").split(".")
    tampered_body = json.loads(privacy._unb64(body)) | {"o": str(uuid.uuid4())}
    forged = privacy._b64(json.dumps(tampered_body, separators=(",", ":")).encode())
    for bad in (
        f"/exports/{forged}.{mac}",
        url[:-2] + ("AA" if url[-2:] != "AA" else "BB"),
        "/exports/nonsense",
    ):
        answer = await _get(client, bad, maya_token)
        assert answer.status_code == 404 and "expired or is not valid" in answer.text
    expired = privacy.export_link(job.id, maya.id, utcnow() - timedelta(seconds=1))
    assert (await _get(client, expired, maya_token)).status_code == 404

    # Past its 7 days the retention job deletes the archive; the old link is refused.
    assert await privacy.delete_expired_exports(now=utcnow() + timedelta(days=6)) == 0
    assert await privacy.delete_expired_exports(now=utcnow() + timedelta(days=8)) == 1
    assert await media.store().size(export_key(maya.id, job.id)) is None
    assert (await _get(client, url, maya_token)).status_code == 404
    assert (await privacy.latest_export(maya.id)).status == "expired"
    assert await privacy.delete_expired_exports(now=utcnow() + timedelta(days=9)) == 0  # idempotent


# ----- retention --------------------------------------------------------------------------


async def test_retention_purges_91_days_and_keeps_89(database: str) -> None:
    now = utcnow()
    user, _ = await sign_up("maya@example.com")
    gone, _ = await sign_up("theo@example.com")
    old, recent = now - timedelta(days=91), now - timedelta(days=89)
    await usage.record(usage.PAGE_VIEW, "/long-ago", user_id=gone.id, now=old)
    for when, label in ((old, "old"), (recent, "recent")):
        await usage.record(usage.PAGE_VIEW, f"/{label}", user_id=user.id, now=when)
    async with db.service_session() as session:
        for when, label in ((old, "old"), (recent, "recent")):
            session.add(LoginAttempt(email=f"{label}@example.com", created_at=when))
            session.add(
                AuthSession(
                    user_id=user.id, token_hash=label.ljust(64, "0"), created_at=when, expires_at=when
                )
            )
        await _old_and_recent_mail_and_audit(session, old, recent, actor=user.id)
        # Form submissions are kept one day (the sign-ups above made two of today's).
        session.add(FormSubmission(form="sign_up", ip="192.0.2.1", created_at=now - timedelta(hours=25)))

    logs = await privacy.purge_old_logs(now=now)
    assert logs == {
        "usage_events": 2,
        "active_days": 2,  # maya's and theo's day 91 days ago; maya's day 89 days ago stays
        "daily_active_users": 1,
        "last_seen_at": 1,  # theo, seen only 91 days ago
        "login_attempts": 1,
        "form_submissions": 1,
        "auth_sessions": 1,
        "oauth_states": 0,
        "outbox": 2,  # the old sent and the old failed one; the one still being retried stays
        "audit_log": 1,
    }
    await _only_recent_mail_and_audit_name_anyone(user.id)
    async with db.service_session() as session:
        assert (await session.scalars(sa.select(UsageEvent.name))).all() == ["/recent"]
        assert (await session.exec(sa.select(ActiveDay.day, ActiveDay.user_id))).all() == [
            (recent.date(), user.id)
        ]
        assert (await session.exec(sa.select(DailyActiveCount.day, DailyActiveCount.users))).all() == [
            (recent.date(), 1)
        ]
        seen = dict((await session.exec(sa.select(User.email, User.last_seen_at))).all())
        assert seen == {"maya@example.com": recent, "theo@example.com": None}
        assert (
            await session.scalars(
                sa.select(LoginAttempt.email).where(LoginAttempt.email != "maya@example.com")
            )
        ).all() == ["recent@example.com"]
    # Idempotent: a second run deletes nothing more.
    assert sum((await privacy.purge_old_logs(now=now)).values()) == 0


async def test_jobs_that_ended_91_days_ago_are_deleted_and_89_kept(database: str) -> None:
    ended = {
        label: await queued_job(privacy.EXPORT_KIND, {"export_id": label}, status="succeeded")
        for label in ("old", "recent")
    }
    waiting = await queued_job(privacy.EXPORT_KIND, {"export_id": "waiting"})
    async with db.service_session() as session:
        for label, days in (("old", 91), ("recent", 89)):
            await session.exec(
                sa.text(
                    "UPDATE procrastinate_events SET at = now() - make_interval(days => :days) WHERE job_id = :id"
                ),
                params={"days": days, "id": ended[label]},
            )
        await session.exec(sa.text("UPDATE procrastinate_events SET at = now() - interval '1 year' WHERE job_id = :id"),
                           params={"id": waiting})  # fmt: skip
    assert await privacy.purge_finished_jobs() == 1
    left = {job.id for job in await engine_jobs(privacy.EXPORT_KIND)}
    assert left == {ended["recent"], waiting}


async def _old_and_recent_mail_and_audit(session, old, recent, *, actor: uuid.UUID) -> None:
    for when, label, status in (
        (old, "old-sent", "sent"),
        (old, "old-failed", "failed"),
        (old, "old-retrying", "queued"),
        (recent, "recent-sent", "sent"),
    ):
        session.add(
            OutboxMessage(
                to_address=f"{label}@example.com",
                subject="Hello",
                body_text=f"Hello {label}",
                template="welcome",
                status=status,
                created_at=when,
            )
        )
    for when, label in ((old, "old"), (recent, "recent")):
        session.add(
            AuditEntry(
                actor_id=actor,
                action="admin.waitlist_invited",
                target=f"{label}-invitee@example.com",
                detail=f"'{label}-invitee' 1",
                created_at=when,
            )
        )


async def _only_recent_mail_and_audit_name_anyone(actor: uuid.UUID) -> None:
    async with db.service_session() as session:
        addresses = (
            await session.scalars(
                sa.select(OutboxMessage.to_address).where(OutboxMessage.template == "welcome")
            )
        ).all()
        entries = (
            await session.exec(
                sa.select(AuditEntry.actor_id, AuditEntry.target, AuditEntry.detail).where(
                    AuditEntry.action == "admin.waitlist_invited"
                )
            )
        ).all()
    assert "old-sent@example.com" not in addresses and "old-failed@example.com" not in addresses
    assert {"old-retrying@example.com", "recent-sent@example.com"} <= set(addresses)
    assert sorted(entries, key=str) == sorted(
        [(None, "", ""), (actor, "recent-invitee@example.com", "'recent-invitee' 1")], key=str
    )


async def test_the_retention_schedule_purges_through_the_job_runner(database: str) -> None:
    """Nobody calls the purge: the workers' periodic jobs do, at least once a day."""
    now = utcnow()
    user, _ = await sign_up("maya@example.com")
    old, recent = now - timedelta(days=91), now - timedelta(days=89)
    await usage.record(usage.PAGE_VIEW, "/long-ago", user_id=user.id, now=old)
    ended = await queued_job(privacy.EXPORT_KIND, {"export_id": "old"}, status="succeeded")
    async with db.service_session() as session:
        session.add(LoginAttempt(email="old@example.com", created_at=old))
        await _old_and_recent_mail_and_audit(session, old, recent, actor=user.id)
        await session.exec(
            sa.text("UPDATE procrastinate_events SET at = :old WHERE job_id = :id"),
            params={"old": old, "id": ended},
        )
    app = engine.build_app()
    schedules = {task.task.name: task.cron for task in app.periodic_registry.periodic_tasks.values()}
    for name in ("retention.logs", "retention.jobs"):
        assert croniter(schedules[name], now).get_next(datetime) - now <= timedelta(days=1)

    async with app.open_async():  # the moment comes: a worker's deferrer queues what is due
        deferrer = PeriodicDeferrer(app.periodic_registry, max_delay=10**9)
        await deferrer.defer_jobs(deferrer.get_previous_tasks(at=time.time()))
    await run_jobs()

    ran = {(job.task_name, job.status) for job in await engine_jobs()}
    assert {("retention.logs", "succeeded"), ("retention.jobs", "succeeded")} <= ran
    assert ended not in {job.id for job in await engine_jobs()}
    async with db.service_session() as session:
        assert (await session.scalars(sa.select(UsageEvent.name))).all() == []
        assert (await session.scalars(sa.select(LoginAttempt.email))).all() == []
    await _only_recent_mail_and_audit_name_anyone(user.id)


# ----- settings services ------------------------------------------------------------------


async def test_email_change_takes_effect_only_through_the_single_use_link(database: str) -> None:
    maya, _ = await sign_up("maya@example.com")
    await sign_up("theo@example.com")
    with pytest.raises(BadInput, match="password"):
        await profile.request_email_change(maya.id, "maya@new.example.com", "wrong")
    with pytest.raises(BadInput, match="Another account"):
        await profile.request_email_change(maya.id, "theo@example.com", PASSWORD)
    link = await profile.request_email_change(maya.id, "Maya@New.example.com", PASSWORD)
    assert (await profile.profile(maya.id)).email == "maya@example.com"  # not yet
    assert (await profile.profile(maya.id)).pending_email == "maya@new.example.com"
    token = link.rsplit("/", 1)[1]
    assert await profile.confirm_email_change(token) == "maya@new.example.com"
    with pytest.raises(BadInput, match="already used"):
        await profile.confirm_email_change(token)
    await accounts.log_in("maya@new.example.com", PASSWORD, HERE)

    link = await profile.request_email_change(maya.id, "maya@third.example.com", PASSWORD)
    async with db.service_session() as session:
        await session.exec(sa.update(User).where(User.id == maya.id).values(email_token_expires_at=utcnow()))
    with pytest.raises(BadInput, match="expired"):
        await profile.confirm_email_change(link.rsplit("/", 1)[1])
    found = await profile.profile(maya.id)
    assert (found.email, found.pending_email) == ("maya@new.example.com", "")


async def test_profile_sessions_preferences_and_privacy_requests(database: str) -> None:
    maya, here = await sign_up("maya@example.com")
    _, elsewhere = await accounts.log_in("maya@example.com", PASSWORD, HERE)
    with pytest.raises(BadInput, match="time zone"):
        await profile.update_profile(maya.id, display_name="Maya", time_zone="Mars/Olympus")
    assert not (await profile.profile(maya.id)).time_zone_chosen  # UTC is only the default so far
    await profile.update_profile(maya.id, display_name="Maya R.", time_zone="UTC")
    assert (await profile.profile(maya.id)).time_zone_chosen  # now UTC is a choice
    await profile.update_profile(maya.id, display_name="Maya R.", time_zone="Asia/Jakarta")
    found = await profile.profile(maya.id)
    assert (found.display_name, found.time_zone, found.product_emails) == ("Maya R.", "Asia/Jakarta", False)

    listed = await profile.active_sessions(maya.id, here)
    assert len(listed) == 2 and [s.current for s in listed].count(True) == 1
    assert await profile.log_out_others(maya.id, here) == 1
    assert await accounts.user_for_token(elsewhere) is None
    assert await accounts.user_for_token(here) is not None

    await usage.record(usage.PAGE_VIEW, "/home", user_id=maya.id, ip="198.51.100.4")
    await profile.set_preferences(maya.id, product_emails=True, usage_opt_out=True)
    await usage.record(usage.PAGE_VIEW, "/studio", user_id=maya.id, ip="198.51.100.4")
    async with db.service_session() as session:
        events = {e.name: e for e in (await session.scalars(sa.select(UsageEvent))).all()}
    assert (events["/home"].user_id, events["/home"].ip) == (maya.id, "198.51.100.4")
    assert (events["/studio"].user_id, events["/studio"].ip) == (None, "")

    with pytest.raises(BadInput):
        await profile.send_privacy_request(maya.id, "gossip", "hello")
    await profile.send_privacy_request(maya.id, "child", "My little brother signed up.")
    async with db.service_session() as session:
        (message,) = (await session.scalars(sa.select(SupportMessage))).all()
    assert (message.kind, message.user_id, message.email) == ("child", maya.id, "maya@example.com")


async def test_media_output_rows_are_exported_with_their_files(pair: tuple[Person, Person]) -> None:
    maya, _ = pair
    async with db.service_session() as session:
        output = (
            await session.scalars(sa.select(GenerationOutput).where(GenerationOutput.user_id == maya.user.id))
        ).one()
    _, archive = await _export_bytes(maya.user.id)
    files = _zip_text(archive)
    assert f"media/{output.generation_id}/0.png" in files


async def test_an_admin_deletes_an_account_with_their_own_password(database: str) -> None:
    maya, _ = await sign_up("maya@example.com")
    admin, _ = await sign_up("admin@example.com")
    theo, _ = await sign_up("theo@example.com")
    with pytest.raises(NotAllowed):  # theo is no admin
        await privacy.request_deletion(maya.id, PASSWORD, actor_id=theo.id)
    async with db.service_session() as session:
        await session.exec(sa.update(User).where(User.id == admin.id).values(is_admin=True))
    with pytest.raises(BadInput, match="Nothing was deleted"):
        await privacy.request_deletion(maya.id, "maya-would-know-this", actor_id=admin.id)
    assert (await reload(User, maya.id)).deleted_at is None
    await privacy.request_deletion(maya.id, PASSWORD, actor_id=admin.id)
    assert (await reload(User, maya.id)).deleted_at is not None
    assert (await reload(User, admin.id)).deleted_at is None
