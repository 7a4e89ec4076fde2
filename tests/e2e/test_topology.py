"""The multi-instance topology on one machine, without containers, driven in Chromium.

Two web backends in multi-instance mode (DEPLOYMENT=multi) share UI state through Redis (a
database number of this test's own, flushed before and after), two `python -m assetry worker`
processes share the job engine, all on the test Postgres (through an app login role of their
own), with media and exports in moto's S3 server and fal.ai's TLS imitation as the provider.

As compose.yaml runs them, both backends serve the same build on the same port, each on its own
host: backend A on 127.0.0.1:P (`python -m assetry serve --env prod --single-port`, which builds
the frontend), backend B on 127.0.0.2:P (the backend process that `reflex run --single-port`
starts once its build is done, serving A's build: the same code and files, built once). Users
open one address, PUBLIC_URL http://assetry.test:P; each browser's resolver sends that name to
one backend (a sticky load balancer, for the test's purpose): browser A reaches only A, browser B
only B.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Browser, BrowserContext, BrowserType, Page, expect

from assetry import rls
from assetry.integrations.storage import export_key
from assetry.sandbox.fal import DEFAULT_KEY, FalImitation
from assetry.services import covers
from tests.e2e.browser import (
    CHROMIUM_ARGS,
    DESKTOP,
    choose,
    log_in,
    path_is,
    sign_up,
    toast,
    visit,
    wait_until,
)
from tests.e2e.conftest import (
    ACTION_TIMEOUT_MS,
    BUILD_TIMEOUT_S,
    _answers,
    _copy_source,
    _server_env,
    _watch,
)
from tests.integration.conftest import served  # noqa: F401 (fal.ai's TLS imitation, a fixture)
from tests.integration.servers import Served
from tests.object_storage import Bucket, moto_s3, new_bucket, storage_settings
from tests.redis_lease import own_redis_database
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.e2e

HOST_A, HOST_B = "127.0.0.1", "127.0.0.2"
APP_HOST = "assetry.test"
APP_ROLE, APP_PASSWORD = "assetry_topology", "a-password-of-the-topology-test"
# A worker silent this long is dead: its job runs again on the other (30 s in production).
STALLED_AFTER_S = 10
JOB_TIMEOUT_MS = 60_000
START_S = 120
FAL_IMAGE = "fal.ai · FLUX.1 [schnell]"


@dataclass
class Topology:
    url: str  # PUBLIC_URL, which each browser resolves to its own backend
    database_url: str
    bucket: Bucket
    fal: FalImitation
    workers: list[subprocess.Popen]
    worker_urls: list[str]
    worker_ids: list[set[int]]  # each worker's ids in procrastinate_workers (shared and interactive loops)
    browser_a: Browser
    browser_b: Browser


def _port_free_on_both_hosts() -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((HOST_A, 0))
            port = probe.getsockname()[1]
        with socket.socket() as other, contextlib.suppress(OSError):
            other.bind((HOST_B, port))
            return port
    raise AssertionError("no port free on both loopback hosts")


def _stop_all(processes: list[subprocess.Popen], web_a: list[subprocess.Popen]) -> None:
    """Kill every process group at once: nothing of theirs outlives the test (the database is the
    test's, the bucket moto's) and a graceful stop of five of them takes most of a minute. Backend
    A (`assetry serve`) runs Reflex in a process group of its own, which only its SIGTERM reaches:
    it gets that first, and a few seconds to pass it on."""
    for process in web_a:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    for process in processes:
        process.wait(timeout=30)


def _job_loops_registered(database_url: str, known: set[int]) -> set[int]:
    """The ids of a new worker process's two job loops (the shared one and the one kept for the
    interactive queue), once both are in procrastinate_workers."""
    found: set[int] = set()

    def both() -> bool:
        found.clear()
        found.update(set(_rows(database_url, "SELECT id FROM procrastinate_workers")) - known)
        return len(found) == 2

    wait_until(both, timeout_s=START_S, what="the new worker's two job loops")
    return found


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _start(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip


def _until_up(url: str, process: subprocess.Popen, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not _answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            said = [line for line in log.read_text(errors="replace").splitlines() if "Compiling:" not in line]
            pytest.fail(f"{url} did not answer. Its output:\n" + "\n".join(said[-40:]))
        time.sleep(0.3)


@pytest.fixture(scope="module")
def topology(
    tmp_path_factory: pytest.TempPathFactory,
    migrated: dict[str, str],
    served: Served,  # noqa: F811
    mailbox: SmtpServer,
    browser_type: BrowserType,
    browser_type_launch_args: dict,
) -> Iterator[Topology]:
    work = tmp_path_factory.mktemp("topology")
    database_url = migrated["DATABASE_URL"]
    with psycopg.connect(database_url, autocommit=True) as owner:
        owner.execute(rls.app_role(APP_ROLE, APP_PASSWORD))
    port = _port_free_on_both_hosts()
    url = f"http://{APP_HOST}:{port}"
    with contextlib.ExitStack() as stack:
        redis_url = stack.enter_context(own_redis_database())
        s3 = stack.enter_context(moto_s3())
        bucket = new_bucket(s3)
        env = _server_env(work / "data", url, mailbox.url) | storage_settings(s3, bucket.name)
        env.update(
            DEPLOYMENT="multi", DATABASE_URL=database_url, APP_DB_ROLE=APP_ROLE, APP_DB_PASSWORD=APP_PASSWORD,
            REDIS_URL=redis_url, ENCRYPTION_KEYS=f"k1:{_key()}", SECRET_KEY=_key(), JOB_WORKER_IN_APP="false",
            JOB_STALLED_AFTER_SECONDS=str(STALLED_AFTER_S), FAL_KEY=DEFAULT_KEY, FAL_QUEUE_URL=served.url,
            SSL_CERT_FILE=str(served.ca_file),
        )  # fmt: skip
        source = work / "app"
        _copy_source(source)
        processes: list[subprocess.Popen] = []
        serving: list[subprocess.Popen] = []  # backend A, which has a process group of its own
        stack.callback(_stop_all, processes, serving)
        stack.callback(lambda: shutil.rmtree(source / ".web", ignore_errors=True))

        # Backend A builds the frontend; the workers start meanwhile.
        logs = {name: work / f"{name}.log" for name in ("web-a", "web-b", "worker-1", "worker-2")}
        web_a = _start(
            [sys.executable, "-m", "assetry", "serve", "--env", "prod", "--single-port", "--frontend-port",
             str(port), "--backend-host", HOST_A, "--loglevel", "warning"],
            source, env, logs["web-a"],
        )  # fmt: skip
        processes.append(web_a)
        serving.append(web_a)
        # One after the other, to know each one's id in the job engine (which one runs a job).
        workers, worker_urls, worker_ids = [], [], []
        for n in (1, 2):
            health = _port_free_on_both_hosts()
            worker = _start(
                [sys.executable, "-m", "assetry", "worker", "--concurrency", "2", "--health-port", str(health)],
                source, env, logs[f"worker-{n}"],
            )  # fmt: skip
            processes.append(worker)
            workers.append(worker)
            worker_urls.append(f"http://127.0.0.1:{health}")
            _until_up(f"{worker_urls[-1]}/health/ready", worker, logs[f"worker-{n}"], START_S)
            worker_ids.append(_job_loops_registered(database_url, set().union(*worker_ids)))
        _until_up(f"http://{HOST_A}:{port}/health/ready", web_a, logs["web-a"], BUILD_TIMEOUT_S)

        # Backend B: the process `reflex run --env prod --single-port` runs after its build (which it
        # then skips, as `reflex run` does once built), serving the same build.
        env_b = env | {
            "REFLEX_ENV_MODE": "prod", "REFLEX_FRONTEND_PORT": str(port), "REFLEX_BACKEND_PORT": str(port),
            "__REFLEX_SKIP_COMPILE": "true",
        }  # fmt: skip
        web_b = _start(
            [sys.executable, "-c", "from reflex.utils import exec; "
             f"exec.run_backend_prod({HOST_B!r}, {port}, mount_frontend_compiled_app=True)"],
            source, env_b, logs["web-b"],
        )  # fmt: skip
        processes.append(web_b)
        _until_up(f"http://{HOST_B}:{port}/health/ready", web_b, logs["web-b"], START_S)
        _until_up(f"http://{HOST_B}:{port}/", web_b, logs["web-b"], START_S)

        browsers = []
        for host in (HOST_A, HOST_B):
            # As a site served over https is (production's): plain http on a name that is not
            # localhost is untrustworthy, and Chromium says so in the console on every page.
            args = [*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {APP_HOST} {host}",
                    f"--unsafely-treat-insecure-origin-as-secure={url}"]  # fmt: skip
            browser = browser_type.launch(**{**browser_type_launch_args, "args": args})
            stack.callback(browser.close)
            browsers.append(browser)
        yield Topology(
            url, database_url, bucket, served.imitation, workers, worker_urls, worker_ids, *browsers
        )


def _tab(browser: Browser, url: str, errors: list[str]) -> Page:
    context: BrowserContext = browser.new_context(base_url=url, viewport=DESKTOP, locale="en-US")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    _watch(context, errors)
    return context.new_page()


def _rows(database_url: str, query: str, **params: object) -> list:
    """The first column of each row `query` returns, read as the schema's owner."""
    with psycopg.connect(database_url, autocommit=True) as owner:
        return [row[0] for row in owner.execute(query, params).fetchall()]


def _start_an_image(page: Page, prompt: str) -> None:
    """In the studio, start a fal.ai image; returns once the page shows it running."""
    visit(page, "/studio")
    page.get_by_role("radio", name="Image").click()
    choose(page, "Model", FAL_IMAGE)
    page.get_by_label("Prompt", exact=True).fill(prompt)
    page.locator("#generate").click()
    expect(page.locator(".in-progress").filter(has_text=prompt)).to_be_visible()


def _creator_on_both(topology: Topology, errors: list[str]) -> tuple[Page, Page, str]:
    """A creator who signed up in browser A (backend A) and logged in in browser B (backend B)."""
    on_a = _tab(topology.browser_a, topology.url, errors)
    email = sign_up(on_a)
    on_b = _tab(topology.browser_b, topology.url, errors)
    log_in(on_b, email)
    expect(on_b).to_have_url(path_is("/home"))
    return on_a, on_b, email


def _holding(fal: FalImitation) -> FalImitation:
    """fal.ai's imitation as new, keeping every request in its queue until `polls_in_queue = 0`."""
    fal.reset()
    fal.polls_in_queue = 100_000
    return fal


def _shown_image_loaded(card) -> bool:
    return card.locator("img").first.evaluate("img => img.complete && img.naturalWidth > 0")


def test_a_generation_started_through_backend_a_appears_live_in_a_tab_on_backend_b(
    topology: Topology, browser_errors: list[str]
) -> None:
    prompt = "A lighthouse keeper's cat on the stairs"
    fal = _holding(topology.fal)  # until the tab on B has seen it run
    on_a, on_b, _ = _creator_on_both(topology, browser_errors)
    _start_an_image(on_a, prompt)

    visit(on_b, "/studio")
    on_b.evaluate("window.__same_document = true")  # gone if the page reloads
    expect(on_b.locator(".in-progress").filter(has_text=prompt)).to_be_visible()
    fal.polls_in_queue = 0  # a worker now finishes it; B's backend hears of it from Postgres
    card = on_b.locator(".generation-card").filter(has_text=prompt)
    expect(card).to_contain_text("Done", timeout=JOB_TIMEOUT_MS)
    expect(toast(on_b, "Your image is ready.")).to_be_visible()
    assert on_b.evaluate("window.__same_document === true"), "the tab on B reloaded"
    # The picture itself comes from the bucket (B's /media link redirects there).
    wait_until(lambda: _shown_image_loaded(card), timeout_s=10, what="the image to load on B")
    assert fal.count("submit") == 1


def test_a_library_card_shows_its_cover_from_the_bucket_and_the_file_when_the_cover_is_missing(
    topology: Topology, browser_errors: list[str]
) -> None:
    """A card's picture is its small cover, straight from the bucket; an image saved before covers
    were (no cover there until `make-covers` runs) shows the file itself instead."""
    prompt = "A paper boat on a rain gutter"
    topology.fal.reset()
    topology.fal.polls_in_queue = 0  # done at its first poll
    on_a = _tab(topology.browser_a, topology.url, browser_errors)
    email = sign_up(on_a)
    _start_an_image(on_a, prompt)
    expect(on_a.locator(".generation-card").filter(has_text=prompt)).to_contain_text(
        "Done", timeout=JOB_TIMEOUT_MS
    )
    [user_id] = _rows(topology.database_url, "SELECT id FROM users WHERE email = %(email)s", email=email)
    [cover_key] = [key for key in topology.bucket.keys(f"{user_id}/") if key.endswith(".cover.webp")]

    def shown(page: Page) -> str:
        card = page.locator(".generation-card").filter(has_text=prompt)
        wait_until(lambda: _shown_image_loaded(card), timeout_s=30, what="the card's picture to load")
        return card.locator("img").first.evaluate("img => img.currentSrc")

    visit(on_a, "/library")
    assert shown(on_a).startswith(f"{topology.bucket.endpoint}/{topology.bucket.name}/{cover_key}?")

    topology.bucket.delete(cover_key)
    visit(on_a, "/library")
    assert "/media/" in shown(on_a)  # the file's own link (a redirect to the bucket's file)


def test_an_export_made_through_backend_a_downloads_through_backend_b_from_the_bucket(
    topology: Topology, browser_errors: list[str]
) -> None:
    on_a, on_b, email = _creator_on_both(topology, browser_errors)
    visit(on_a, "/settings")
    on_a.locator("#export").get_by_role("button", name="Start a new export").click()
    expect(toast(on_a, "Your export is ready to download.")).to_be_visible(timeout=JOB_TIMEOUT_MS)

    visit(on_b, "/settings")
    with on_b.expect_download() as started:
        on_b.locator("#export-download").click()
    download = started.value
    assert download.url.startswith(f"{topology.bucket.endpoint}/{topology.bucket.name}/")
    assert "X-Amz-Signature=" in download.url and "X-Amz-Expires=" in download.url
    archive = Path(download.path()).read_bytes()
    [user_id] = _rows(topology.database_url, "SELECT id FROM users WHERE email = %(email)s", email=email)
    [export_id] = _rows(topology.database_url, "SELECT id FROM data_exports WHERE user_id = %(u)s", u=user_id)
    assert archive == topology.bucket.read(export_key(user_id, export_id))
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        assert zf.testzip() is None
        assert f"for {email}" in zf.read("README.txt").decode()


def test_a_job_whose_worker_is_killed_is_finished_once_by_the_other_worker(
    topology: Topology, browser_errors: list[str]
) -> None:
    prompt = "Two herons arguing over a fish"
    fal = _holding(topology.fal)
    on_a = _tab(topology.browser_a, topology.url, browser_errors)
    sign_up(on_a)
    _start_an_image(on_a, prompt)
    job = """SELECT j.id FROM procrastinate_jobs j JOIN generations g ON j.args->>'generation_id' = g.id::text
             WHERE g.prompt = %(p)s AND g.provider_request_id IS NOT NULL AND j.status = 'doing'"""
    wait_until(
        lambda: _rows(topology.database_url, job, p=prompt), timeout_s=30, what="fal.ai to get the request"
    )
    [job_id] = _rows(topology.database_url, job, p=prompt)
    [runner] = _rows(
        topology.database_url, "SELECT worker_id FROM procrastinate_jobs WHERE id = %(j)s", j=job_id
    )
    [killed] = [w for w, ids in zip(topology.workers, topology.worker_ids, strict=True) if runner in ids]
    os.killpg(killed.pid, signal.SIGKILL)  # mid-job: it waits on fal.ai's queue
    killed.wait(timeout=10)
    fal.polls_in_queue = 0

    card = on_a.locator(".generation-card").filter(has_text=prompt)
    expect(card).to_contain_text("Done", timeout=JOB_TIMEOUT_MS)
    assert fal.count("submit") == 1, "the generation was paid for twice"
    attempts = "SELECT status || ' after ' || attempts FROM procrastinate_jobs WHERE id = %(j)s"
    assert _rows(topology.database_url, attempts, j=job_id) == ["succeeded after 2"]
    outputs = """SELECT o.storage_key FROM generation_outputs o JOIN generations g ON g.id = o.generation_id
                 WHERE g.prompt = %(p)s"""
    [stored] = _rows(topology.database_url, outputs, p=prompt)
    assert topology.bucket.keys(stored.rsplit("/", 1)[0]) == [covers.key_of(stored), stored]
