"""`python -m assetry make-covers`, run as an operator would (a separate process on the same database
and storage): images saved before covers were made get theirs, in a local folder and in a bucket."""

from __future__ import annotations

import uuid

import httpx

from assetry.integrations.storage import LocalMediaStore
from assetry.models import GenerationOutput
from assetry.services import accounts, covers, media, studio
from assetry.state import generations
from tests.account_setup import SignUp, create_account
from tests.commands import counts_printed
from tests.jobs import run_jobs
from tests.object_storage import Bucket


def make_covers_command(*args: str) -> dict[str, int]:
    return counts_printed("make-covers", *args)


async def _images(count: int) -> tuple[uuid.UUID, list[GenerationOutput]]:
    form = SignUp(email="old@example.com", password="Correct-Horse-42", age_confirmed=True,
                  accepted_policies=True)  # fmt: skip
    user, _ = await create_account(form, accounts.Client())
    started = []
    for n in range(count):
        request = studio.StudioRequest(kind="image", prompt=f"an old picture {n}",
                                       model_key="offline:preview-image", aspect_ratio="9:16")  # fmt: skip
        started.append((await studio.start(user.id, request, client_request_id=str(uuid.uuid4()))).id)
        await run_jobs()  # one at a time: a person runs at most a few at once
    return user.id, await studio.outputs_of(user.id, started)


async def _read(key: str) -> bytes | None:
    store = media.store()
    if await store.size(key) is None:
        return None
    return b"".join([chunk async for chunk in store.stream(key)])


async def _as_before_covers(outputs: list[GenerationOutput]) -> None:
    """Five images saved before covers were made, one of them with its cover made since, one whose
    file is gone from the storage, one whose file is not a picture."""
    store = media.store()
    for output in outputs[1:]:
        await store.delete(covers.key_of(output.storage_key))
    await store.delete(outputs[3].storage_key)
    await store.put(outputs[4].storage_key, b"not a picture", "image/png")


async def _check_covers_made(outputs: list[GenerationOutput]) -> None:
    for output in outputs[:3]:  # each cover is the one the studio makes today, from its own file
        file = await _read(output.storage_key)
        assert file is not None and await _read(covers.key_of(output.storage_key)) == covers.make(file)
    for output in outputs[3:]:
        assert await _read(covers.key_of(output.storage_key)) is None


async def _cards_with_covers(user_id: uuid.UUID) -> set[str]:
    """The files whose library card carries its cover inside the page."""
    return {entry.cover_key for entry in (await studio.library(user_id)).generations if entry.cover_src}


async def test_old_images_get_their_covers_once_in_a_local_folder(database: str) -> None:
    user_id, outputs = await _images(5)
    assert isinstance(media.store(), LocalMediaStore)
    await _as_before_covers(outputs)
    assert await _cards_with_covers(user_id) == {outputs[0].storage_key}  # the others ask for the file

    first = make_covers_command("--batch", "2")  # three batches
    assert first == {"covers made": 2, "had a cover already": 1, "file missing": 1, "not readable": 1}
    await _check_covers_made(outputs)
    assert await _cards_with_covers(user_id) == {output.storage_key for output in outputs[:3]}

    second = make_covers_command()
    assert second == {"covers made": 0, "had a cover already": 3, "file missing": 1, "not readable": 1}


async def test_old_images_get_their_covers_in_a_bucket(database: str, s3_storage: Bucket) -> None:
    user_id, outputs = await _images(5)
    await _as_before_covers(outputs)
    assert len(s3_storage.keys(str(user_id))) == 4 + 1  # four files, one cover

    first = make_covers_command("--batch", "3")
    assert first == {"covers made": 2, "had a cover already": 1, "file missing": 1, "not readable": 1}
    await _check_covers_made(outputs)
    # The old image's card links to its new cover in the bucket.
    made = s3_storage.read(covers.key_of(outputs[1].storage_key))
    [card] = [generations.card(entry) for entry in (await studio.library(user_id)).generations
              if entry.cover_key == outputs[1].storage_key]  # fmt: skip
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(card.cover_url)).content == made
    assert make_covers_command()["covers made"] == 0


class _DeletedWhileItsCoverIsWritten(LocalMediaStore):
    """The real folder, where the owner deletes the generation just before its cover is written."""

    def __init__(self, root, user_id: uuid.UUID, generation_id: uuid.UUID) -> None:
        super().__init__(root)
        self.user_id, self.generation_id = user_id, generation_id

    async def put(self, key: str, content: bytes, content_type: str) -> None:
        await studio.delete(self.user_id, self.generation_id)  # its file and (no) cover are deleted
        await super().put(key, content, content_type)


async def test_a_cover_made_for_an_image_deleted_meanwhile_is_not_left_behind(database: str) -> None:
    user_id, [output] = await _images(1)
    store = media.store()
    await store.delete(covers.key_of(output.storage_key))
    racing = _DeletedWhileItsCoverIsWritten(store.root, user_id, output.generation_id)

    said = [counts async for counts in covers.make_missing(racing, batch=10)]

    assert said == [{covers.MADE: 0, covers.FILE_GONE: 1}]
    assert [path for path in (store.root / str(user_id)).rglob("*") if path.is_file()] == []
