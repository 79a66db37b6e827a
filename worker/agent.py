"""The worker agent: a process with its own wallet that asks a pool's scheduler (this site's
worker API) for work, runs it in the WebAssembly sandbox and proves its result on chain.

    agent = Agent(site="http://127.0.0.1:8000", account=key, pool=address, rpc_url=...)
    agent.run(stop=threading.Event())

For each replicate:
1. download the app (and the dataset), and check each sha256 against the registered checksum:
   a mismatch fails the replicate with the reason, and nothing is contributed (every download,
   input files too, only from the site, the origins allowed, or public addresses: worker.fetch);
2. decrypt the dataset (its key is released for this replicate only; worker.datasets) into the
   input folder, with the task's input files;
3. run the app in a process of its own (worker.sandbox: fuel, wall clock and memory limits from
   the task's category), heartbeating its progress;
4. archive /output with stdout and stderr deterministically (worker.results), upload it, and
   commit to its sha256 on chain (contribute, with the scheduler's authorization);
5. reveal as soon as the task reached consensus on its result: the chain says so first (with
   trust 1, in the contribution's own block), the site once its index has it.

It talks to the site over HTTP and to the chain over JSON-RPC only (worker.chain), and imports
no Django: it runs on any machine.
"""

from __future__ import annotations

import base64
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import requests
from eth_account.messages import encode_defunct

from worker import results, sandbox
from worker.addresses import origin_of, parse_origin
from worker.chain import (
    RPC_TIMEOUT,
    ChainError,
    Hub,
    Node,
    TransactionSender,
    default_confirmations,
)
from worker.command_line import input_file_name, task_arguments
from worker.datasets import DatasetCryptoError, decrypt_stream
from worker.failures import classify, stderr_tail
from worker.fetch import Fetcher, FetchFailed, FetchRefused
from worker.limits import FUEL_PER_SECOND, RunLimits, limits_for_category
from worker.protocol import ContributionStatus, TaskStatus, result_hash

logger = logging.getLogger(__name__)

# Seconds between asks for work while there is none.
DEFAULT_POLL_SECONDS = 2.0
HEARTBEAT_SECONDS = 5.0
# Progress is sent at once when it moved, but not more often than this.
PROGRESS_MIN_INTERVAL = 0.2
# A contributed replicate is checked for its reveal this soon, then 1.5 times later each time up
# to the poll interval: consensus tends to come at once (with trust 1, in the contribution's
# block), and the task is finalized only once its winners revealed.
REVEAL_FIRST_POLL_SECONDS = 0.1
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024


# Asking again after the site failed to answer (connection refused, 5xx): pauses, in seconds.
RETRY_PAUSES = (0.5, 1.0, 2.0)
RETRIED_STATUSES = frozenset({500, 502, 503, 504})
# After a replicate, the next ask for work comes this soon, then 1.5 times later each time up to
# the poll interval: a busy pool's next task is taken at once, an idle agent asks seldom.
BUSY_POLL_SECONDS = 0.25


class ReplicateFailed(Exception):
    """The replicate cannot be run or proven; the message is reported to the scheduler, with
    `app_fault` when the app itself (or its files) failed rather than this worker."""

    def __init__(
        self,
        message: str,
        *,
        app_fault: bool = False,
        status: int = 0,
        exit_code: int | None = None,
        stderr_tail: str = "",
    ) -> None:
        super().__init__(message)
        self.app_fault = app_fault
        # The site's HTTP status when it refused the call (403: not a member in good standing).
        self.status = status
        # For a run of the app that failed: its exit status (None: it did not exit) and the
        # last lines it wrote to stderr, for the buyer to read.
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail


class SiteClient:
    """The worker API, signed in with the agent's wallet (a new token when one expires), and
    the files the agent downloads: from this site, from `allowed_origins` (scheme://host[:port])
    and otherwise only from public addresses (worker.fetch)."""

    def __init__(
        self,
        base_url: str,
        account,
        *,
        chain_id: int,
        timeout: float = 60,
        allowed_origins: Iterable[str] = (),
    ) -> None:
        self.base = base_url.rstrip("/")
        self.account = account
        self.chain_id = chain_id
        self.timeout = timeout
        self.session = requests.Session()
        self._token = ""
        self.fetcher = Fetcher(
            allowed_origins=[origin_of(self.base), *map(parse_origin, allowed_origins)],
            max_bytes=MAX_DOWNLOAD_BYTES,
        )

    def sign_in(self) -> None:
        challenge = self.session.post(
            f"{self.base}/api/v1/auth/challenge/",
            json={"address": self.account.address, "chainId": self.chain_id},
            timeout=self.timeout,
        )
        self._raise_for(challenge)
        message = challenge.json()["message"]
        signature = self.account.sign_message(encode_defunct(text=message)).signature
        answer = self.session.post(
            f"{self.base}/api/v1/auth/token/",
            json={"message": message, "signature": "0x" + bytes(signature).hex()},
            timeout=self.timeout,
        )
        self._raise_for(answer)
        self._token = answer.json()["token"]

    @staticmethod
    def _raise_for(response: requests.Response) -> None:
        if response.status_code >= 400:
            try:
                problem = response.json().get("error") or response.text
            except ValueError:
                problem = response.text[:300]
            raise ReplicateFailed(
                f"The site answered {response.status_code}: {problem}",
                status=response.status_code,
            )

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """The worker API's answer to `method` `path`: signed in again once when the token
        expired, asked again after RETRY_PAUSES when the site does not answer or fails (files
        are sent again from their start); ReplicateFailed with the site's words otherwise."""
        signed_in_again = False
        pauses = list(RETRY_PAUSES)
        while True:
            if not self._token:
                self.sign_in()
            for _, value in (kwargs.get("files") or {}).items():
                value[1].seek(0)
            try:
                response = self.session.request(
                    method,
                    f"{self.base}/api/v1/workers/{path}",
                    headers={"Authorization": f"Bearer {self._token}"},
                    timeout=self.timeout,
                    **kwargs,
                )
            except requests.ConnectionError:
                if not pauses:
                    raise
                time.sleep(pauses.pop(0))
                continue
            if response.status_code == 401 and not signed_in_again:
                self._token = ""  # expired: sign in again
                signed_in_again = True
                continue
            if response.status_code in RETRIED_STATUSES and pauses:
                logger.warning("The site answered %s to %s; again.", response.status_code, path)
                time.sleep(pauses.pop(0))
                continue
            self._raise_for(response)
            return response.json()

    def download(self, location: str, dest: Path) -> str:
        """Fetch `location` (a URL, or a path on the site) into `dest`; its sha256 hex. A URL
        the rules refuse (worker.fetch) fails the replicate as the deal's fault: whoever gave
        it, not this worker."""
        try:
            return self.fetcher.download(self._url_of(location), dest)
        except FetchRefused as refused:
            raise ReplicateFailed(str(refused), app_fault=True) from refused
        except FetchFailed as failed:
            raise ReplicateFailed(str(failed)) from failed

    def _url_of(self, location: str) -> str:
        """On this site when `location` is a path (a single / first); else `location` itself,
        a URL the fetcher checks (a relative one is refused there, never joined to the site)."""
        if location.startswith("/") and not location.startswith("//"):
            return self.base + location
        return location


def _checked(kind: str, expected: str, actual: str) -> None:
    if expected.lower().removeprefix("0x") != actual:
        raise ReplicateFailed(
            f"{kind} checksum mismatch: the file's sha256 is 0x{actual}, but 0x"
            f"{expected.lower().removeprefix('0x')} is registered on chain. Not run.",
            app_fault=True,
        )


class Agent:
    def __init__(
        self,
        *,
        site: str,
        account,
        pool: str | None,
        rpc_url: str,
        chain_id: int,
        work_dir: Path | None = None,
        cache_dir: Path | None = None,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        allowed_origins: Iterable[str] = (),
        confirmations: int | None = None,
        rpc_timeout: float = RPC_TIMEOUT,
        fuel_per_second: int = FUEL_PER_SECOND,
    ) -> None:
        """`confirmations`: blocks the agent's transactions wait for (default: none on the
        development chain, 12 elsewhere); `rpc_timeout`: seconds to wait for one JSON-RPC
        answer; `fuel_per_second`: the fuel rate of the limits the agent sets itself when a
        scheduler sends none."""
        self.client = SiteClient(site, account, chain_id=chain_id, allowed_origins=allowed_origins)
        self.account = account
        self.pool = pool
        self.rpc_url = rpc_url
        self.chain_id = chain_id
        self.node = Node(rpc_url, timeout=rpc_timeout)
        self.sender = TransactionSender(
            account,
            node=self.node,
            confirmations=(
                default_confirmations(chain_id) if confirmations is None else confirmations
            ),
        )
        self.fuel_per_second = fuel_per_second
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="superedge-agent-"))
        self.cache_dir = Path(cache_dir) if cache_dir else self.work_dir / "compiled"
        self.poll_seconds = poll_seconds
        self._reveal_pause = REVEAL_FIRST_POLL_SECONDS
        self._work_pause = poll_seconds
        self._hubs: dict[str, Hub] = {}
        # Replicates contributed and not revealed yet: {pk: (work, digest)}.
        self.contributed: dict[int, tuple[dict[str, Any], bytes]] = {}

    # ------------------------------------------------------------------ chain

    def hub(self, address: str) -> Hub:
        if address not in self._hubs:
            self._hubs[address] = Hub(address=address, node=self.node)
        return self._hubs[address]

    # ------------------------------------------------------------------ membership

    def join(self) -> dict[str, Any]:
        """Ask to join the agent's pool (nothing changes for a member): its membership, which
        says whether it is in good standing and if not why."""
        if not self.pool:
            raise ValueError("The agent works for any pool: ask to join one with --pool.")
        return self.client.call("post", f"pools/{self.pool}/apply/", json={})

    def terms(self) -> dict[str, Any]:
        """What the agent's pool asks of its workers, and where the agent stands in it."""
        return self.client.call("get", f"pools/{self.pool}/")

    def bond(self, target: int) -> int:
        """Keep a bond of at least `target` for the agent's pool (the Hub's bond): locks what
        the bond lacks of it from the worker's free escrow, nothing when it holds as much
        already (an agent restarted with the same target locks nothing more). The whole bond
        it keeps for the pool now; ChainError when refused (too little free stake: deposit
        first)."""
        hub = self.hub(self.terms()["hub"])
        held = hub.bond(workerpool=self.pool, worker=self.account.address)
        if held < target:
            hub.lock_bond(sender=self.sender, workerpool=self.pool, amount=target - held)
            held = hub.bond(workerpool=self.pool, worker=self.account.address)
        return held

    def memberships(self) -> list[dict[str, Any]]:
        """The pools the agent belongs to (or asked to), and its standing in each."""
        return self.client.call("get", "memberships/")

    # ------------------------------------------------------------------ loop

    def run(self, *, stop: threading.Event, on_idle: Callable[[str], None] | None = None) -> None:
        """Ask for work and do it until `stop` is set."""
        said = ""
        while not stop.is_set():
            try:
                worked = self.run_once()
            except ReplicateFailed as error:
                # Not a member (403): said once, then asked again at the idle pace.
                if error.status != 403 or str(error) != said:
                    logger.warning("Agent %s: %s", self.account.address, error)
                said = str(error) if error.status == 403 else ""
                worked = False
            except (requests.RequestException, ChainError) as error:
                logger.warning("Agent %s: %s", self.account.address, error)
                worked = False
            except Exception:  # an agent outlives any one task's surprise
                logger.exception("Agent %s: unexpected error", self.account.address)
                worked = False
            if worked:
                self._work_pause = BUSY_POLL_SECONDS
            else:
                self._idle(stop)
                self._work_pause = min(self._work_pause * 1.5, self.poll_seconds)

    def _idle(self, stop: threading.Event) -> None:
        """Wait before asking for work again (BUSY_POLL_SECONDS after a replicate, growing to
        `poll_seconds`), checking the contributed replicates for their reveal meanwhile
        (REVEAL_FIRST_POLL_SECONDS)."""
        deadline = time.monotonic() + self._work_pause
        while self.contributed and not stop.is_set():
            pause = min(self._reveal_pause, deadline - time.monotonic())
            if pause <= 0:
                return
            stop.wait(pause)
            self._reveal_pause = min(self._reveal_pause * 1.5, self.poll_seconds)
            try:
                self.reveal_due()
            except (requests.RequestException, ReplicateFailed) as error:
                logger.warning("Agent %s: %s", self.account.address, error)
            except Exception:
                logger.exception("Agent %s: unexpected error", self.account.address)
        stop.wait(max(0.0, deadline - time.monotonic()))

    def run_once(self) -> bool:
        """Reveal what is due, then take one replicate and run it as far as its contribution;
        False when there was no work."""
        self.reveal_due()
        answer = self.client.call("post", "work/", json={"pool": self.pool} if self.pool else {})
        work = answer.get("work")
        if not work:
            return False
        self.handle(work)
        return True

    def handle(self, work: dict[str, Any]) -> None:
        """Run the replicate, upload its result and contribute it (or report why not)."""
        pk = work["replicate"]
        folder = self.work_dir / f"replicate-{pk}"
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "input").mkdir(parents=True)
        (folder / "output").mkdir()
        try:
            digest = self._run(work, folder)
            self._contribute(work, digest)
        except ReplicateFailed as failure:
            logger.info("Replicate %s failed: %s", pk, failure)
            self.client.call(
                "post",
                f"replicates/{pk}/report/",
                json={
                    "event": "failed",
                    "reason": str(failure)[:300],
                    "app_fault": failure.app_fault,
                    "failure_kind": classify(str(failure)) if failure.app_fault else "other",
                    "exit_code": failure.exit_code,
                    "stderr_tail": failure.stderr_tail,
                },
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def reveal_due(self) -> None:
        """For each contributed replicate: reveal once the task reached consensus on it (as the
        chain shows it, or the site); forget it when there is nothing more to do."""
        for pk, (work, digest) in list(self.contributed.items()):
            if self._consensus_on(work, digest):
                state = {"instruction": "reveal"}  # the site's index may not have it yet
            else:
                state = self.client.call("get", f"replicates/{pk}/")
            if state["instruction"] == "reveal":
                self._reveal(pk, work, digest)
                del self.contributed[pk]
            elif state["instruction"] in ("done", "stop"):
                del self.contributed[pk]

    def _reveal(self, pk: int, work: dict[str, Any], digest: bytes) -> None:
        """Send reveal (unless an earlier attempt already did) and report it."""
        hub = self.hub(work["hub"])
        if hub.contribution_status(work["taskid"], self.account.address) != (
            ContributionStatus.PROVED
        ):
            try:
                hub.reveal(sender=self.sender, taskid=work["taskid"], digest=digest)
            except ChainError as error:
                logger.warning("Reveal of replicate %s refused: %s", pk, error)
                return  # past the reveal deadline, or the task moved on: nothing to report
        self.client.call("post", f"replicates/{pk}/report/", json={"event": "revealed"})

    def _consensus_on(self, work: dict[str, Any], digest: bytes) -> bool:
        """Whether the chain shows the task revealing with its consensus on this result (False
        when the node does not answer: the site says it too, later)."""
        try:
            view = self.hub(work["hub"]).task(work["taskid"])
        except ChainError:
            return False
        return view.status == TaskStatus.REVEALING and view.consensus_value == result_hash(
            work["taskid"], digest
        )

    # ------------------------------------------------------------------ one replicate

    def _run(self, work: dict[str, Any], folder: Path) -> bytes:
        pk = work["replicate"]
        app = work["app"]
        if not app or not app.get("multiaddr"):
            raise ReplicateFailed("The task's app has no file location registered.")
        wasm_path = folder / "app.wasm"
        _checked("App", app["checksum"], self.client.download(app["multiaddr"], wasm_path))
        dataset_file = None
        if work.get("dataset"):
            dataset_file = self._fetch_dataset(work, folder)
        for url in work["params"].get("input_files") or []:
            self.client.download(url, folder / "input" / input_file_name(url))
        beat = _Heartbeat(self.client, pk)
        beat.start()
        try:
            outcome = sandbox.run_isolated(
                wasm_path,
                cache_dir=self.cache_dir,
                args=task_arguments(str(work["params"].get("args", "")), dataset_file=dataset_file),
                input_dir=folder / "input",
                output_dir=folder / "output",
                limits=self._limits(work),
                on_progress=beat.progress,
                log_dir=folder,
            )
        finally:
            beat.stop()
        if not outcome.ok:
            raise ReplicateFailed(
                f"The app did not finish: {outcome.failure}.",
                app_fault=not outcome.failure.startswith(sandbox.SANDBOX_FAILURE),
                exit_code=outcome.exit_code,
                stderr_tail=stderr_tail(outcome.stderr_path),
            )
        archive = results.build_result_archive(
            folder / "output", outcome.stdout_path, outcome.stderr_path, folder / "result.tar"
        )
        with archive.path.open("rb") as file:
            self.client.call(
                "post",
                f"replicates/{pk}/result/",
                files={"archive": ("result.tar", file)},
                data={"digest": "0x" + archive.digest.hex()},
            )
        return archive.digest

    def _limits(self, work: dict[str, Any]) -> RunLimits:
        """The run's limits as the pool's scheduler sets them (the same for every worker of the
        task), or from the category's reference time for a scheduler that sends none."""
        given = work.get("limits")
        if isinstance(given, dict):
            try:
                return RunLimits(
                    fuel=int(given["fuel"]),
                    wall_clock_seconds=float(given["wall_clock_seconds"]),
                    memory_bytes=int(given["memory_bytes"]),
                    output_bytes=int(given["output_bytes"]),
                )
            except (KeyError, TypeError, ValueError) as error:
                raise ReplicateFailed(f"The scheduler sent unusable limits: {given!r}") from error
        return limits_for_category(int(work["time_ref"]), fuel_per_second=self.fuel_per_second)

    def _fetch_dataset(self, work: dict[str, Any], folder: Path) -> str:
        dataset = work["dataset"]
        encrypted = folder / "dataset.enc"
        _checked(
            "Dataset", dataset["checksum"], self.client.download(dataset["multiaddr"], encrypted)
        )
        key = base64.b64decode(
            self.client.call("get", f"replicates/{work['replicate']}/dataset-key/")["key"]
        )
        name = Path(dataset.get("filename") or "dataset").name
        try:
            with encrypted.open("rb") as source, (folder / "input" / name).open("wb") as target:
                decrypt_stream(source, target, key=key)
        except DatasetCryptoError as error:
            raise ReplicateFailed(
                f"The dataset could not be decrypted: {error}", app_fault=True
            ) from error
        finally:
            encrypted.unlink(missing_ok=True)
        return name

    def _contribute(self, work: dict[str, Any], digest: bytes) -> None:
        hub = self.hub(work["hub"])
        try:
            hub.commit(
                sender=self.sender,
                taskid=work["taskid"],
                digest=digest,
                authorization=bytes.fromhex(work["authorization"][2:]),
            )
        except ChainError as error:
            raise ReplicateFailed(f"contribute refused: {error}") from error
        self.client.call(
            "post", f"replicates/{work['replicate']}/report/", json={"event": "contributed"}
        )
        self.contributed[work["replicate"]] = (work, digest)
        self._reveal_pause = REVEAL_FIRST_POLL_SECONDS


class _Heartbeat:
    """Tells the scheduler the replicate is alive every HEARTBEAT_SECONDS, and its progress as
    soon as it moves (PROGRESS_MIN_INTERVAL apart at most)."""

    def __init__(self, client: SiteClient, pk: int) -> None:
        self.client = client
        self.pk = pk
        self._percent = 0.0
        self._message = ""
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._changed.set()
        self._thread.join(timeout=10)

    def progress(self, update) -> None:
        self._percent, self._message = update.percent, update.message
        self._changed.set()

    def _loop(self) -> None:
        last = 0.0
        while not self._stop.is_set():
            self._changed.wait(HEARTBEAT_SECONDS)
            self._changed.clear()
            wait = PROGRESS_MIN_INTERVAL - (time.monotonic() - last)
            if wait > 0:
                self._stop.wait(wait)
            if self._stop.is_set():
                return
            try:
                self.client.call(
                    "post",
                    f"replicates/{self.pk}/heartbeat/",
                    json={"percent": round(self._percent, 1), "message": self._message[:300]},
                )
            except (requests.RequestException, ReplicateFailed) as error:
                logger.warning("Heartbeat of replicate %s failed: %s", self.pk, error)
            last = time.monotonic()
