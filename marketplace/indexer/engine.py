"""The indexer: follows the events of our contracts on one chain into the database.

    indexer = Indexer()            # settings: node, chain id, confirmations
    indexer.start()                # checks the chain id, takes the lease, or raises
    indexer.run(stop=event)        # steps until `stop` is set; or indexer.step() for one

Each step reads the node's head, checks that the blocks it kept above the confirmed height are
still the chain's (else rolls back to the fork and re-indexes from there), then reads the logs
of the next range of blocks in one batch request and writes them, their projections and the
new checkpoint in one database transaction. Blocks up to head - confirmations are final; those
above are written too, journaled block by block so that a reorganization can take them back.

One indexer per chain: the holder of the lease on the chain's IndexerState row. Every write
locks that row (`SELECT … FOR UPDATE`) and checks that this indexer still holds the lease and
that the checkpoint is where its batch begins, so an indexer that lost its lease while it
waited on the node writes nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.utils import timezone

from marketplace.chain import selectors as chain_selectors
from marketplace.chain.anvil import DEV_CHAIN_ID
from marketplace.chain.errors import ChainError, ChainUnavailable
from marketplace.chain.events import DecodedEvent, EventCatalogue, MalformedLog, checksum
from marketplace.chain.feed import (
    Header,
    LogFilter,
    NodeError,
    NodeFeed,
    RangeTooLarge,
    RateLimited,
)
from marketplace.chain.ids import Market
from marketplace.indexer import changes as journal
from marketplace.indexer.changes import Changes, copy_rows, insert_rows
from marketplace.indexer.followers import IndexedBatch, asset_linker, tell_followers
from marketplace.indexer.models import (
    Asset,
    Category,
    ChainEvent,
    Contribution,
    Deal,
    EscrowAccount,
    IndexedBlock,
    IndexerState,
    IndexerStatus,
    OrderFill,
    Task,
    UndoRecord,
    Worker,
    WorkerBond,
)
from marketplace.indexer.projections import project, touched_deals, touched_keys

logger = logging.getLogger(__name__)

CONTRACTS_BY_SOURCE = {
    "token": ["ECT"],
    "hub": ["Hub"],
    "app_registry": ["AppRegistry"],
    "dataset_registry": ["DatasetRegistry"],
    "workerpool_registry": ["WorkerpoolRegistry"],
    "workerpool": ["Workerpool"],  # every registered pool, at its own address
}
LEASE_SECONDS = 20
MAX_RANGE = 50_000
MAX_BACKOFF_SECONDS = 30.0


class IndexerRefused(ChainError):
    """The indexer cannot start: wrong chain, no deployment, or another indexer holds the chain."""


class IndexerBusy(IndexerRefused):
    """Another indexer holds this chain's lease."""


class LeaseLost(ChainError):
    """This indexer no longer holds the chain (another took it over): its batch was dropped."""


class ChainMoved(ChainError):
    """The chain changed while a batch was read (a reorganization in progress): read again."""


class DeepReorg(ChainError):
    """The chain forked at or below the confirmed height, which must never change."""


@dataclasses.dataclass(frozen=True)
class Step:
    """What one step did: "indexed" blocks first..last (`events` stored), "idle" at the head,
    "rolled_back" to before block `first`, "restarted" (a dev chain reset: the index starts
    over), or "retry" (the node refused the range: a smaller one next)."""

    action: str
    first: int = 0
    last: int = 0
    events: int = 0


def _holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _holder_alive(holder: str) -> bool:
    """False only when `holder` names a process of this host that is gone."""
    try:
        host, pid, _ = holder.split(":")
        pid_number = int(pid)
    except ValueError:
        return True
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid_number, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def deployment_marker(deployment: Any, first_block_hash: str) -> str:
    """What identifies a deployment: its Hub, its first block and that block's hash (a dev
    chain restarted from nothing has the same Hub at the same block, in another chain)."""
    return f"{deployment.hub.lower()}:{deployment.block}:{first_block_hash}"


class Indexer:
    """Indexes settings.CHAIN_ID through `feed` (default: settings.WEB3_RPC_URL)."""

    def __init__(
        self,
        *,
        feed: NodeFeed | None = None,
        chain_id: int | None = None,
        confirmations: int | None = None,
        deployment: Any = None,
        poll_seconds: float = 1.0,
        restart_on_deep_fork: bool | None = None,
    ) -> None:
        self.feed = feed or NodeFeed(
            settings.WEB3_RPC_URL, timeout=max(float(settings.CHAIN_RPC_TIMEOUT), 30.0)
        )
        self.chain_id = settings.CHAIN_ID if chain_id is None else chain_id
        self.confirmations = (
            settings.CHAIN_CONFIRMATIONS if confirmations is None else confirmations
        )
        self.deployment = deployment
        self.poll_seconds = poll_seconds
        # A dev chain forks below its confirmed height only when it was reset or reverted
        # (anvil's evm_revert): its index starts over. Anywhere else, that is an alarm.
        if restart_on_deep_fork is None:
            restart_on_deep_fork = self.chain_id == DEV_CHAIN_ID
        self.restart_on_deep_fork = restart_on_deep_fork
        self.holder = _holder_name()
        self.range = settings.INDEXER_FIRST_RANGE
        self.target_events = settings.INDEXER_TARGET_EVENTS
        self.catalogue = EventCatalogue.for_contracts(CONTRACTS_BY_SOURCE)
        self.sources: dict[str, str] = {}
        self.started = False

    # ------------------------------------------------------------------ start and stop

    def start(self) -> IndexerState:
        """Check the node and the deployment, make or reset the chain's state, take the lease.

        Raises IndexerRefused (a wrong chain id, no deployment), IndexerBusy (another indexer
        holds the chain) or ChainUnavailable (no node)."""
        node_chain = self.feed.chain_id()
        if node_chain != self.chain_id:
            raise IndexerRefused(
                f"The node at {self.feed.shown_url} is on chain {node_chain}, but this site is "
                f"configured for chain {self.chain_id}: refusing to index it. Fix WEB3_RPC_URL "
                "or CHAIN_ID."
            )
        if self.deployment is None:
            self.deployment = chain_selectors.current_deployment()
        if self.deployment is None:
            raise IndexerRefused(
                f"Our contracts are not deployed on chain {self.chain_id}: run `make run` or "
                "`manage.py deploy_contracts` first."
            )
        d = self.deployment
        self.sources = {
            d.token: "token",
            d.hub: "hub",
            d.app_registry: "app_registry",
            d.dataset_registry: "dataset_registry",
            d.workerpool_registry: "workerpool_registry",
        }
        # Every log of our contracts, events unknown to this code included (recorded as
        # undecodable rather than never seen).
        self.contracts_filter = LogFilter(addresses=tuple(self.sources))
        self.registered_topic = next(
            topic
            for topic, spec in self.catalogue.specs_by_source["workerpool_registry"].items()
            if spec.name == "WorkerpoolRegistered"
        )
        first = self.feed.headers([d.block]).get(d.block)
        if first is None:
            raise IndexerRefused(
                f"The node at {self.feed.shown_url} does not have block {d.block}, where our "
                "contracts were deployed: is it still syncing?"
            )
        self._take_lease(deployment_marker(d, first.hash))
        state = self._reset_if_redeployed(deployment_marker(d, first.hash))
        self.started = True
        return state

    def _take_lease(self, marker: str) -> None:
        now = timezone.now()
        with transaction.atomic():
            state, _ = IndexerState.objects.select_for_update().get_or_create(
                chain_id=self.chain_id,
                defaults={
                    "hub": self.deployment.hub,
                    "first_block": self.deployment.block,
                    "deployment_marker": marker,
                    "checkpoint": self.deployment.block - 1,
                },
            )
            free = (
                not state.holder
                or state.holder == self.holder
                or state.lease_until is None
                or state.lease_until < now
                or not _holder_alive(state.holder)
            )
            if not free:
                raise IndexerBusy(
                    f"Another indexer ({state.holder}) is following chain {self.chain_id} until "
                    f"{state.lease_until:%H:%M:%S}: only one may. Stop it, or let this one wait."
                )
            state.holder = self.holder
            state.lease_until = now + datetime.timedelta(seconds=LEASE_SECONDS)
            state.save(update_fields=["holder", "lease_until", "updated_at"])

    def _reset_if_redeployed(self, marker: str) -> IndexerState:
        """The chain's state; emptied first when it followed another deployment."""
        with transaction.atomic():
            state = self._locked_state()
            if state.deployment_marker != marker:
                logger.warning(
                    "Chain %s now has the deployment %s (was %s): indexing it from scratch.",
                    self.chain_id,
                    marker,
                    state.deployment_marker,
                )
                forget_chain(self.chain_id)
                state.hub = self.deployment.hub
                state.first_block = self.deployment.block
                state.deployment_marker = marker
                state.checkpoint = self.deployment.block - 1
                state.checkpoint_hash = ""
                state.confirmed_height = -1
                state.events_indexed = 0
                state.indexed_at = None
            state.save()
        return state

    def stop(self) -> None:
        """Give the lease back (the next indexer need not wait for it to expire)."""
        if not self.started:
            return
        IndexerState.objects.filter(chain_id=self.chain_id, holder=self.holder).update(
            holder="", lease_until=None, status=IndexerStatus.STOPPED
        )
        self.started = False
        self.feed.close()

    def _locked_state(self, *, checkpoint: int | None = None) -> IndexerState:
        """The state row, locked for this transaction; LeaseLost unless this indexer holds it
        (and, when given, the checkpoint is still `checkpoint`)."""
        state = IndexerState.objects.select_for_update().get(chain_id=self.chain_id)
        if state.holder != self.holder:
            raise LeaseLost(
                f"Chain {self.chain_id} is now followed by {state.holder or 'nobody'}: this "
                "indexer dropped its batch."
            )
        if checkpoint is not None and state.checkpoint != checkpoint:
            raise LeaseLost(
                f"The checkpoint moved to {state.checkpoint} (expected {checkpoint}): dropped."
            )
        state.lease_until = timezone.now() + datetime.timedelta(seconds=LEASE_SECONDS)
        return state

    # ------------------------------------------------------------------ loop

    def run(
        self,
        *,
        stop: threading.Event | None = None,
        until_caught_up: bool = False,
        seconds: float | None = None,
        on_step: Callable[[Step], None] | None = None,
    ) -> None:
        """Step until `stop` is set (or, with `until_caught_up`, the head is reached; with
        `seconds`, that long). Node failures are waited out with growing pauses, their
        reason kept in the state for pages to show."""
        stop = stop or threading.Event()
        deadline = None if seconds is None else time.monotonic() + seconds
        backoff = 1.0
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            if not connection.in_atomic_block:  # a caller's transaction is not ours to end
                close_old_connections()
            try:
                if not self.started:
                    self.start()
                step = self.step()
            except IndexerBusy:
                raise
            except (
                ChainUnavailable,
                RateLimited,
                NodeError,
                ChainMoved,
                OperationalError,  # the database went away: it may come back
                InterfaceError,
            ) as error:
                self._record_problem(error)
                logger.warning("Indexer step failed, retrying in %.0f s: %s", backoff, error)
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            except LeaseLost as error:
                logger.warning("%s", error)
                self.started = False
                continue
            backoff = 1.0
            if on_step is not None:
                on_step(step)
            if step.action == "idle":
                if until_caught_up:
                    return
                stop.wait(self.poll_seconds)

    def _record_problem(self, error: Exception) -> None:
        status = (
            IndexerStatus.NODE_UNREACHABLE
            if isinstance(error, ChainUnavailable)
            else IndexerStatus.FAILING
        )
        # When the database is the problem, the log says it.
        with contextlib.suppress(DatabaseError):
            rows = IndexerState.objects.filter(chain_id=self.chain_id)
            # "Unreachable for 5 min" counts from the first failure, not the latest retry.
            rows.exclude(status=status).update(problem_since=timezone.now())
            rows.update(status=status, problem=str(error)[:2000])

    # ------------------------------------------------------------------ one step

    def step(self) -> Step:
        """Do the next thing: a rollback, a batch, or nothing at the head (see the module)."""
        if not self.started:
            self.start()
        head = self.feed.head()
        state = IndexerState.objects.get(chain_id=self.chain_id)
        try:
            fork = self._fork_point(state, head)
        except DeepReorg:
            if not self.restart_on_deep_fork:
                raise
            logger.warning("Chain %s was reset or reverted: indexing it afresh.", self.chain_id)
            reindex(chain_id=self.chain_id)
            return Step("restarted")
        if fork is not None:
            return self._roll_back(fork, checkpoint=state.checkpoint)
        first = state.checkpoint + 1
        if first > head:
            self._at_head(head)
            return Step("idle", first, head)
        last = min(first + self.range - 1, head)
        confirmed_target = head - self.confirmations
        # Headers first, logs after, `last` again at the end: a tip that moves in between
        # shows as a changed hash (logs of a block read by number belong to whichever fork
        # the node had then, and a block without our logs has nothing else to compare).
        unconfirmed = range(max(first, confirmed_target), last + 1)
        headers = self.feed.headers({first, last, *unconfirmed})
        try:
            raw_logs = self.feed.logs(first, last, self._filters())
        except RangeTooLarge:
            if last == first:
                raise
            self.range = max(1, (last - first + 1) // 2)
            logger.info(
                "The node refused blocks %s-%s: now %s blocks a batch.", first, last, self.range
            )
            return Step("retry", first, last)
        raw_logs += self._new_pools_logs(first, last, raw_logs)
        missing_times = {
            int(log["blockNumber"], 16) for log in raw_logs if "blockTimestamp" not in log
        } - set(headers)
        again = self.feed.headers({last, *missing_times})
        if last in headers and last in again and again[last].hash != headers[last].hash:
            raise ChainMoved(f"Block {last} changed while its logs were read.")
        headers = {**again, **headers}
        self._check_consistency(state, first, last, headers, raw_logs, unconfirmed)
        events = self._decode(raw_logs, headers)
        self._commit(first, last, head, events, headers)
        self._adapt_range(last - first + 1, len(raw_logs))
        return Step("indexed", first, last, len(events))

    def _pool_filter(self, pools: Iterable[str]) -> LogFilter:
        return LogFilter(addresses=tuple(sorted(pools)), topics=self.catalogue.topics("workerpool"))

    def _filters(self) -> list[LogFilter]:
        """Our contracts' logs, and the policy changes of the pools registered so far (each
        pool emits them at its own address)."""
        pools = Asset.objects.filter(chain_id=self.chain_id, kind=Market.POOL).values_list(
            "address", flat=True
        )
        pools = list(pools)
        return [self.contracts_filter, *([self._pool_filter(pools)] if pools else [])]

    def _new_pools_logs(
        self, first: int, last: int, raw_logs: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The policy logs, in these blocks, of the pools these logs register."""
        registry = self.deployment.workerpool_registry.lower()
        new_pools = {
            _checksum("0x" + log["topics"][1][-40:])
            for log in raw_logs
            if log.get("address", "").lower() == registry
            and len(log.get("topics") or ()) > 1
            and log["topics"][0].lower() == self.registered_topic
        }
        if not new_pools:
            return []
        return self.feed.logs(first, last, [self._pool_filter(new_pools)])

    def _adapt_range(self, blocks: int, logs: int) -> None:
        """Aim at `target_events` a batch: proportional, at most doubling or an eighth."""
        wanted = blocks * 2 if logs == 0 else blocks * self.target_events // logs
        self.range = max(1, min(MAX_RANGE, blocks * 2, max(blocks // 8, wanted)))

    def _check_consistency(
        self,
        state: IndexerState,
        first: int,
        last: int,
        headers: dict[int, Header],
        raw_logs: list[dict[str, Any]],
        unconfirmed: range,
    ) -> None:
        for number in {first, last, *unconfirmed}:
            if number not in headers:
                raise ChainMoved(f"The node does not have block {number} (now): the chain moved.")
        if state.checkpoint_hash and headers[first].parent_hash != state.checkpoint_hash:
            # The checkpoint block left the chain after the fork check: look again.
            raise ChainMoved(f"Block {first} does not follow the indexed block {first - 1}.")
        for number in sorted(headers):
            if number - 1 in headers and headers[number].parent_hash != headers[number - 1].hash:
                raise ChainMoved(f"Block {number} does not follow block {number - 1}.")
        for log in raw_logs:
            header = headers.get(int(log["blockNumber"], 16))
            if header is not None and log["blockHash"].lower() != header.hash:
                raise ChainMoved(f"A log of block {header.number} belongs to another fork.")

    def _decode(
        self, raw_logs: list[dict[str, Any]], headers: dict[int, Header]
    ) -> list[DecodedEvent]:
        events = []
        pool_logs = []
        for log in raw_logs:
            try:
                address = log["address"]
            except (KeyError, TypeError):
                raise NodeError("The node returned a log without an address.") from None
            source = self.sources.get(address) or self.sources.get(_checksum(address))
            if source is None:
                pool_logs.append(log)
                continue
            events.append(self._decode_one(log, source, headers))
        if pool_logs:
            events.extend(self._pool_events(pool_logs, events, headers))
            events.sort(key=lambda e: (e.block_number, e.log_index))
        return events

    def _decode_one(
        self, log: dict[str, Any], source: str, headers: dict[int, Header]
    ) -> DecodedEvent:
        try:
            event = self.catalogue.decode(log, source=source)
        except MalformedLog as error:
            raise NodeError(str(error)) from None
        if event.block_time is None:
            header = headers.get(event.block_number)
            event.block_time = header.timestamp if header else None
        return event

    def _pool_events(
        self,
        pool_logs: list[dict[str, Any]],
        events: list[DecodedEvent],
        headers: dict[int, Header],
    ) -> list[DecodedEvent]:
        """PolicyUpdate logs of our pools (registered before, or in this batch); others' are
        not ours and are dropped."""
        addresses = {_checksum(log["address"]) for log in pool_logs}
        ours = set(
            Asset.objects.filter(
                chain_id=self.chain_id, kind=Market.POOL, address__in=addresses
            ).values_list("address", flat=True)
        )
        ours.update(
            e.args.get("workerpool")
            for e in events
            if e.name == "WorkerpoolRegistered" and e.args.get("workerpool") in addresses
        )
        return [
            self._decode_one(log, "workerpool", headers)
            for log in pool_logs
            if _checksum(log["address"]) in ours
        ]

    # ------------------------------------------------------------------ writes

    def _commit(
        self,
        first: int,
        last: int,
        head: int,
        events: list[DecodedEvent],
        headers: dict[int, Header],
    ) -> None:
        confirmed = min(last, head - self.confirmations)
        with transaction.atomic():
            state = self._locked_state(checkpoint=first - 1)
            self._store_events(events)
            settled = Changes(chain_id=self.chain_id)
            settled_events = [e for e in events if e.block_number <= confirmed]
            link_listing = asset_linker()
            rated = set(project(settled_events, settled, link_listing=link_listing))
            dealids = touched_deals(settled_events, settled)
            settled.flush()
            by_block: dict[int, list[DecodedEvent]] = defaultdict(list)
            for event in events:
                if event.block_number > confirmed:
                    by_block[event.block_number].append(event)
            for number in sorted(by_block):
                optimistic = Changes(chain_id=self.chain_id, journal_block=number)
                rated |= project(by_block[number], optimistic, link_listing=link_listing)
                dealids |= touched_deals(by_block[number], optimistic)
                optimistic.flush()
            new_confirmed = max(state.confirmed_height, confirmed)
            kept = [
                header
                for number, header in headers.items()
                if number >= new_confirmed or number == last
            ]
            IndexedBlock.objects.filter(
                chain_id=self.chain_id, number__gte=first, number__lte=last
            ).delete()
            IndexedBlock.objects.bulk_create(
                [
                    IndexedBlock(
                        chain_id=self.chain_id,
                        number=h.number,
                        hash=h.hash,
                        parent_hash=h.parent_hash,
                        timestamp=h.timestamp,
                    )
                    for h in kept
                ]
            )
            self._prune(new_confirmed, keep=last)
            now = timezone.now()
            state.checkpoint = last
            state.checkpoint_hash = headers[last].hash
            state.confirmed_height = new_confirmed
            state.head = head
            state.head_seen_at = now
            state.events_indexed += len(events)
            state.status = IndexerStatus.FOLLOWING if last >= head else IndexerStatus.CATCHING_UP
            state.problem = ""
            state.problem_since = None
            if last >= head:
                state.indexed_at = now
            state.save()
            addresses, digests = touched_keys(events)
            tell_followers(
                IndexedBatch(
                    chain_id=self.chain_id,
                    addresses=frozenset(addresses),
                    digests=frozenset(digests),
                    dealids=frozenset(dealids),
                    registrations=any(e.source.endswith("registry") for e in events),
                    rated=frozenset(rated),
                )
            )

    _EVENT_COLUMNS = (
        "chain_id",
        "block_number",
        "block_hash",
        "block_time",
        "tx_hash",
        "log_index",
        "address",
        "name",
        "arguments",
        "problem",
    )

    def _store_events(self, events: list[DecodedEvent]) -> None:
        times: dict[int | None, datetime.datetime | None] = {None: None}
        dumps = json.JSONEncoder(separators=(",", ":")).encode
        rows = []
        for e in events:
            if e.block_time not in times:
                times[e.block_time] = datetime.datetime.fromtimestamp(e.block_time, tz=datetime.UTC)
            rows.append(
                (
                    self.chain_id,
                    e.block_number,
                    e.block_hash,
                    times[e.block_time],
                    e.tx_hash,
                    e.log_index,
                    e.address,
                    e.name,
                    dumps(e.args) if e.args else "",
                    e.problem,
                )
            )
        if connection.vendor == "postgresql":
            copy_rows(ChainEvent, self._EVENT_COLUMNS, rows)
        else:
            insert_rows(
                ChainEvent,
                [ChainEvent(**dict(zip(self._EVENT_COLUMNS, row, strict=False))) for row in rows],
            )

    def _prune(self, confirmed: int, *, keep: int) -> None:
        """Forget what confirmed blocks no longer need: their journal, their hashes (but the
        confirmed height's own, where a fork search stops, and the checkpoint's)."""
        UndoRecord.objects.filter(chain_id=self.chain_id, block_number__lte=confirmed).delete()
        IndexedBlock.objects.filter(chain_id=self.chain_id, number__lt=confirmed).exclude(
            number=keep
        ).delete()

    def _at_head(self, head: int) -> None:
        """Nothing new: the index is fresh as of now, and the head may have confirmed more."""
        with transaction.atomic():
            state = self._locked_state()
            confirmed = min(state.checkpoint, head - self.confirmations)
            if confirmed > state.confirmed_height:
                state.confirmed_height = confirmed
                self._prune(confirmed, keep=state.checkpoint)
            now = timezone.now()
            state.head = head
            state.head_seen_at = now
            state.indexed_at = now
            state.status = IndexerStatus.FOLLOWING
            state.problem = ""
            state.problem_since = None
            state.save()

    # ------------------------------------------------------------------ reorganizations

    def _fork_point(self, state: IndexerState, head: int) -> int | None:
        """The first kept block the node no longer has (the chain forked there), or None.
        DeepReorg when that block is confirmed."""
        kept = dict(
            IndexedBlock.objects.filter(
                chain_id=self.chain_id, number__gte=max(state.confirmed_height, 0)
            ).values_list("number", "hash")
        )
        if not kept:
            return None
        on_chain = self.feed.headers([n for n in kept if n <= head])
        fork = None
        for number in sorted(kept):
            header = on_chain.get(number)
            if header is None:
                if self.restart_on_deep_fork:  # a dev chain shorter than its index was reset
                    fork = number
                    break
                # Behind the index (a lagging or load-balanced node, or a shorter fork still
                # growing): wait until the node shows that block, then compare.
                raise ChainMoved(
                    f"The node's head is block {head}, behind the indexed block {number}: "
                    "waiting for it."
                )
            if header.hash != kept[number]:
                fork = number
                break
        if fork is None:
            return None
        if fork <= state.confirmed_height:
            message = (
                f"Chain {self.chain_id} forked at block {fork}, at or below the confirmed height "
                f"{state.confirmed_height}: confirmed data must not change, so indexing stopped. "
                "Check the node (is it on the right network, fully synced?). If the chain really "
                "changed that deep, raise CHAIN_CONFIRMATIONS and run `manage.py index_chain "
                "--reindex`."
            )
            if not self.restart_on_deep_fork:
                IndexerState.objects.filter(chain_id=self.chain_id).update(
                    status=IndexerStatus.FAILING, problem=message, problem_since=timezone.now()
                )
            raise DeepReorg(message)
        return fork

    def _roll_back(self, fork: int, *, checkpoint: int) -> Step:
        with transaction.atomic():
            state = self._locked_state(checkpoint=checkpoint)
            if fork <= state.confirmed_height:
                raise ChainMoved(f"Block {fork} was confirmed meanwhile: looking again.")
            restored = journal.undo(chain_id=self.chain_id, from_block=fork)
            dropped, _ = ChainEvent.objects.filter(
                chain_id=self.chain_id, block_number__gte=fork
            ).delete()
            IndexedBlock.objects.filter(chain_id=self.chain_id, number__gte=fork).delete()
            previous = (
                IndexedBlock.objects.filter(chain_id=self.chain_id, number__lt=fork)
                .order_by("-number")
                .first()
            )
            state.checkpoint = fork - 1
            state.checkpoint_hash = (
                previous.hash if previous and previous.number == fork - 1 else ""
            )
            state.events_indexed = max(0, state.events_indexed - dropped)
            state.save()
            tell_followers(IndexedBatch(chain_id=self.chain_id, everything=True))
        logger.warning(
            "Chain %s reorganized at block %s: %s events and %s rows taken back.",
            self.chain_id,
            fork,
            dropped,
            restored,
        )
        return Step("rolled_back", fork, fork, dropped)


def _checksum(address: str) -> str:
    return checksum(address[2:].lower())


def forget_chain(chain_id: int) -> None:
    """Delete everything indexed of `chain_id` (events, blocks, journal, projections), keeping
    the listings; they lose their assets' records."""
    for model in (
        ChainEvent,
        IndexedBlock,
        UndoRecord,
        Asset,
        Category,
        OrderFill,
        Deal,
        Task,
        Contribution,
        EscrowAccount,
        Worker,
        WorkerBond,
    ):
        model.objects.filter(chain_id=chain_id).delete()


def reindex(*, chain_id: int) -> None:
    """Forget everything indexed of `chain_id`, so that the indexer starts again from the
    deployment's first block (projections are sums over the whole history)."""
    with transaction.atomic():
        state = IndexerState.objects.select_for_update().filter(chain_id=chain_id).first()
        forget_chain(chain_id)
        if state is not None:
            state.checkpoint = state.first_block - 1
            state.checkpoint_hash = ""
            state.confirmed_height = -1
            state.events_indexed = 0
            state.indexed_at = None
            state.status = IndexerStatus.STARTING
            state.problem = ""
            state.problem_since = None
            state.save()
        # What the followers derived (the book's verdicts, cached pages) rested on what was just
        # forgotten: redone from scratch, it follows the index as it is rebuilt.
        tell_followers(IndexedBatch(chain_id=chain_id, everything=True))
