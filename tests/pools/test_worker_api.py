"""The worker API on anvil: a worker with a wallet token asks for work, beats, fetches its
dataset key, uploads its result and reports its contribution; nobody acts for another."""

from __future__ import annotations

import hashlib
import io

import pytest
from rest_framework.test import APIClient

from marketplace.chain.hub import result_hash
from marketplace.chain.models import Deployment
from pools import scheduler
from pools.models import Replicate, ReplicateStatus
from tests.chain_scaffold import ECT, Market
from tests.factories.accounts import WalletFactory, token_client
from tests.marketplace.indexer.helpers import index_to_head
from tests.pools.members import admit
from tests.worker import archives

pytestmark = pytest.mark.django_db


def worker_client(address: str) -> APIClient:
    """A client with a live wallet token of `address` (as /api/v1/auth/token/ issues)."""
    return token_client(address)


@pytest.fixture
def market(chain, hub_deployment, opened_market) -> Market:
    import dataclasses

    fields = dataclasses.asdict(hub_deployment)
    Deployment.objects.create(chain_id=31337, first_block=fields.pop("block"), **fields)
    opened = opened_market.copy()
    admit(opened.workerpool, opened.workers)
    orders = opened.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=ECT, trust=1)
    opened.match(orders)
    index_to_head(hub_deployment)
    scheduler.runs_create(chain_id=31337)
    scheduler.runs_initialize(chain_id=31337, hub=opened.hub)
    index_to_head(hub_deployment)
    return opened


def test_a_worker_gets_work_beats_uploads_and_contributes(market, hub_deployment):
    worker = market.workers[0]
    client = worker_client(worker.address)
    answer = client.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json")
    assert answer.status_code == 201, answer.json()
    work = answer.json()["work"]
    assert work["app"]["address"] == market.app and work["dataset"] is None
    assert work["params"] == {"args": "input.txt"}
    assert work["time_ref"] == 300
    pk = work["replicate"]

    beat = client.post(f"/api/v1/workers/replicates/{pk}/heartbeat/", {"percent": 40}, "json")
    assert beat.json()["instruction"] == "run"
    assert Replicate.objects.get(pk=pk).status == ReplicateStatus.RUNNING

    archive = archives.agent_archive({"out.txt": b"42\n"})
    digest = "0x" + hashlib.sha256(archive).hexdigest()
    wrong = client.post(
        f"/api/v1/workers/replicates/{pk}/result/",
        {"archive": io.BytesIO(b"other bytes"), "digest": digest},
    )
    assert wrong.status_code == 400 and "not " + digest in wrong.json()["error"]
    uploaded = client.post(
        f"/api/v1/workers/replicates/{pk}/result/",
        {"archive": io.BytesIO(archive), "digest": digest},
    )
    assert uploaded.json()["instruction"] == "contribute"

    early = client.post(
        f"/api/v1/workers/replicates/{pk}/report/", {"event": "contributed"}, "json"
    )
    assert early.status_code == 409 and "no contribution of yours" in early.json()["error"]
    market.hub.commit(
        sender=market.sender(worker),
        taskid=work["taskid"],
        digest=digest,
        authorization=bytes.fromhex(work["authorization"][2:]),
    )
    done = client.post(f"/api/v1/workers/replicates/{pk}/report/", {"event": "contributed"}, "json")
    assert done.json()["status"] == "contributed"
    index_to_head(hub_deployment)
    # Trust 1: one contribution is the consensus; the worker is told to reveal.
    state = client.get(f"/api/v1/workers/replicates/{pk}/").json()
    assert state["instruction"] == "reveal"
    assert Replicate.objects.get(pk=pk).digest == digest
    task = market.hub.task(work["taskid"])
    assert task.consensus_value == result_hash(work["taskid"], digest)


@pytest.mark.parametrize("hostile", archives.HOSTILE.values(), ids=archives.HOSTILE.keys())
def test_a_hostile_archive_is_refused_and_nothing_is_stored(market, hostile, settings):
    build_hostile, refusal = hostile
    client = worker_client(market.workers[0].address)
    work = client.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json").json()["work"]
    pk = work["replicate"]
    before = Replicate.objects.values().get(pk=pk)
    archive = build_hostile()

    refused = client.post(
        f"/api/v1/workers/replicates/{pk}/result/",
        {"archive": io.BytesIO(archive), "digest": "0x" + hashlib.sha256(archive).hexdigest()},
    )

    assert refused.status_code == 400
    assert refusal in refused.json()["error"]
    assert refused.json()["error"].endswith(".")
    assert Replicate.objects.values().get(pk=pk) == before
    assert not (settings.MEDIA_ROOT / "results").exists()


def test_nobody_touches_another_workers_replicate(market):
    owner = worker_client(market.workers[0].address)
    pk = owner.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json").json()["work"][
        "replicate"
    ]
    other = worker_client(market.workers[1].address)
    for method, path, body in (
        ("post", f"/api/v1/workers/replicates/{pk}/heartbeat/", {"percent": 1}),
        ("get", f"/api/v1/workers/replicates/{pk}/dataset-key/", None),
        ("get", f"/api/v1/workers/replicates/{pk}/", None),
        ("post", f"/api/v1/workers/replicates/{pk}/report/", {"event": "failed", "reason": "x"}),
    ):
        response = getattr(other, method)(path, body, "json") if body else other.get(path)
        assert response.status_code == 404, path
    assert Replicate.objects.get(pk=pk).status == ReplicateStatus.ASSIGNED


def test_forged_or_missing_tokens_and_sessions_are_refused(market, client):
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Bearer se_forged")
    assert (
        forged.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json").status_code == 401
    )
    anonymous = APIClient()
    assert anonymous.post("/api/v1/workers/work/", {"pool": market.workerpool}).status_code == 401
    session = APIClient()
    session.force_login(WalletFactory(address=market.workers[0].address).user)
    refused = session.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json")
    assert refused.status_code == 403 and "wallet token" in refused.json()["error"]


def test_a_task_without_dataset_has_no_key_and_a_failed_replicate_says_why(market):
    client = worker_client(market.workers[0].address)
    pk = client.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json").json()["work"][
        "replicate"
    ]
    assert client.get(f"/api/v1/workers/replicates/{pk}/dataset-key/").status_code == 404
    failed = client.post(
        f"/api/v1/workers/replicates/{pk}/report/",
        {"event": "failed", "reason": "app checksum mismatch: 0xab… instead of 0xcd…"},
        "json",
    )
    assert failed.json()["instruction"] == "stop"
    assert Replicate.objects.get(pk=pk).failure.startswith("app checksum mismatch")
    # A failed replicate frees its place: another worker gets the task.
    again = worker_client(market.workers[1].address).post(
        "/api/v1/workers/work/", {"pool": market.workerpool}, "json"
    )
    assert again.status_code == 201


def test_a_failed_run_reports_its_exit_status_and_the_end_of_its_stderr(market):
    client = worker_client(market.workers[0].address)
    pk = client.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json").json()["work"][
        "replicate"
    ]
    lines = [f"line {number}" for number in range(30)]
    lines[-1] = "\x1b[31merror:\x00 not an SVG document\r"
    report = {
        "event": "failed",
        "reason": "The app did not finish: exit code 3.",
        "app_fault": True,
        "exit_code": 3,
        "stderr_tail": "\n".join(lines) + "\n",
    }

    answer = client.post(f"/api/v1/workers/replicates/{pk}/report/", report, "json")

    assert answer.status_code == 200, answer.json()
    failed = Replicate.objects.get(pk=pk)
    assert (failed.status, failed.exit_code, failed.failure_kind) == ("failed", 3, "exit")
    # Its last 20 lines, terminal escapes and NUL shown as "?".
    assert failed.stderr_tail.split("\n") == [
        *(f"line {number}" for number in range(10, 29)),
        "?[31merror:? not an SVG document",
    ]


def test_a_stderr_tail_longer_than_4_kib_is_refused_with_the_bound(market):
    client = worker_client(market.workers[0].address)
    pk = client.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json").json()["work"][
        "replicate"
    ]
    report = {"event": "failed", "reason": "exit code 1", "stderr_tail": "x" * 4097}

    answer = client.post(f"/api/v1/workers/replicates/{pk}/report/", report, "json")

    assert answer.status_code == 400
    assert "stderr_tail text of at most 4096 characters" in answer.json()["error"]
    assert Replicate.objects.get(pk=pk).status == ReplicateStatus.ASSIGNED


def test_no_work_is_said_plainly(market):
    client = worker_client(market.workers[0].address)
    client.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json")
    second = worker_client(market.workers[1].address).post(
        "/api/v1/workers/work/", {"pool": market.workerpool}, "json"
    )
    assert second.status_code == 200
    assert second.json() == {
        "work": None,
        "reason": f"No task of pool {market.workerpool} needs a worker now.",
    }
    bad = client.post("/api/v1/workers/work/", {"pool": "nope"}, "json")
    assert bad.status_code == 400


def test_a_worker_without_a_pool_works_for_any_pool_the_site_schedules(market):
    client = worker_client(market.workers[0].address)
    answer = client.post("/api/v1/workers/work/", {}, "json")
    assert answer.status_code == 201
    assert answer.json()["work"]["workerpool"] == market.workerpool
    none_left = worker_client(market.workers[1].address).post("/api/v1/workers/work/", {}, "json")
    assert none_left.json()["reason"] == (
        "No task of the pools this site schedules needs a worker now."
    )


def test_a_contribution_to_another_result_than_the_uploaded_one_is_not_believed(market):
    worker = market.workers[0]
    client = worker_client(worker.address)
    work = client.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json").json()["work"]
    pk = work["replicate"]
    archive = archives.agent_archive({"out.txt": b"the archive uploaded"})
    client.post(
        f"/api/v1/workers/replicates/{pk}/result/",
        {"archive": io.BytesIO(archive), "digest": "0x" + hashlib.sha256(archive).hexdigest()},
    )
    market.hub.commit(
        sender=market.sender(worker),
        taskid=work["taskid"],
        digest="0x" + hashlib.sha256(b"another archive").hexdigest(),
        authorization=bytes.fromhex(work["authorization"][2:]),
    )
    refused = client.post(
        f"/api/v1/workers/replicates/{pk}/report/", {"event": "contributed"}, "json"
    )
    assert refused.status_code == 409
    assert "commits to another result" in refused.json()["error"]
    failed = Replicate.objects.get(pk=pk)
    assert failed.status == ReplicateStatus.FAILED and not failed.app_fault
    assert failed.failure == "Contributed another result on chain than the archive it uploaded."
