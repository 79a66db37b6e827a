"""Every demo purchase works: on the demo catalogue as `make run` seeds it (on anvil), a buyer
buys one task of every demo app with every dataset that allows it, through the buy API with
the app's default arguments, as the buy form sends them; a real worker agent
(`manage.py run_worker`, one of `make run`'s dev accounts) runs them all; each result is
verified against the chain, holds a non-empty file, and shows on the result page.

Apps that need a dataset are refused without one at the quote, before any money moves; an
app that needs none is bought without one too.

The waits guard against hangs only; nothing here asserts how long a step takes.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from marketplace.accounts.services import user_for_wallet
from marketplace.catalogue.models import Listing
from marketplace.chain import client
from marketplace.chain.hub import Hub
from marketplace.chain.ids import task_id
from marketplace.demo.listings import APPS
from marketplace.demo.onchain import DEMO_AGENTS, DEMO_REQUESTER
from pools import lifecycle
from pools.models import Replicate, RunStatus, TaskRun
from tests.factories.accounts import WalletFactory
from tests.marketplace.demo.deployments import record_deployment
from tests.marketplace.indexer.helpers import index_to_head
from tests.pools.test_pipeline import _database_lock

pytestmark = [pytest.mark.django_db(transaction=True)]

CHAIN_ID = 31337
WAIT_SECONDS = 180  # a hang guard, far above what the whole batch takes
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
POOL = "Lyon Edge Alpha"  # the demo pool with an XS offer
FINISHED = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.ABANDONED)


@dataclasses.dataclass(frozen=True)
class Purchase:
    app: Listing
    dataset: Listing | None
    dealid: str

    def __str__(self) -> str:
        return f"{self.app.name} on {self.dataset.name if self.dataset else 'no dataset'}"


def _send(w3, account, transaction: dict) -> None:
    tx = {
        "to": transaction["to"],
        "data": transaction["data"],
        "value": int(transaction.get("value", "0x0"), 16),
        "gas": int(transaction["gas"], 16),
        "chainId": w3.eth.chain_id,
        "nonce": w3.eth.get_transaction_count(account.address),
        "gasPrice": w3.eth.gas_price,
    }
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    )
    assert receipt["status"] == 1


def _quote(buyer: APIClient, requester: str, app: Listing, dataset: Listing | None, pool: str):
    """The buy form's quote with the form's defaults: the app's default arguments, one task,
    XS, trust 1."""
    response = buyer.post(
        "/api/v1/orders/quote/",
        {
            "requester": requester,
            "app": app.chain_address,
            "dataset": dataset.chain_address if dataset else "",
            "workerpool": pool,
            "category": 0,
            "trust": 1,
            "volume": 1,
            "args": app.app.default_args,
        },
        "json",
    )
    assert response.status_code == 200, response.json()
    return response.json()


@pytest.fixture
def demo(chain, anvil, hub_deployment, live_server):
    """The demo catalogue on the dev chain, as `make run` seeds it, indexed."""
    record_deployment(hub_deployment, chain_id=CHAIN_ID)
    # Deadlines follow block time: bring the chain's clock up to the wall clock's.
    latest = chain.eth.get_block("latest")["timestamp"]
    if latest < int(time.time()):
        client.rpc("evm_setNextBlockTimestamp", [int(time.time())], w3=chain)
        client.rpc("evm_mine", w3=chain)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115 (closed at exit)
    index_to_head(hub_deployment)
    return Hub(address=hub_deployment.hub, w3=chain)


def test_every_demo_app_on_every_dataset_it_allows_gives_a_verified_previewable_result(
    demo, chain, anvil, hub_deployment, dev_accounts, live_server, tmp_path
):
    requester = dev_accounts[DEMO_REQUESTER]
    buyer = APIClient()
    # The demo requester's user exists: its standing request was published as it.
    buyer.force_authenticate(user_for_wallet(requester.address))
    pool = Listing.objects.get(name=POOL).chain_address
    apps = list(Listing.objects.filter(kind="app").select_related("app").order_by("name"))
    assert sorted(app.name for app in apps) == sorted(spec["name"] for spec in APPS)

    wanted: list[tuple[Listing, Listing | None]] = []
    for app in apps:
        datasets = list(Listing.objects.filter(dataset__allowed_apps=app.app).order_by("name"))
        wanted += [(app, dataset) for dataset in datasets]
        if app.app.needs_dataset:
            # Refused at the quote, before any money moves: the form never offers it.
            refused = _quote(buyer, requester.address, app, None, pool)
            assert refused["ready"] is False
            assert "NeedsDataset" in {failure["check"] for failure in refused["failures"]}
        else:
            wanted.append((app, None))
    assert {dataset.name for _, dataset in wanted if dataset} == set(
        Listing.objects.filter(kind="dataset").values_list("name", flat=True)
    ), "every demo dataset is allowed to an app"

    purchases = []
    for app, dataset in wanted:  # one deal each, all run at once
        answer = _quote(buyer, requester.address, app, dataset, pool)
        assert answer["ready"] is True, (app.name, answer["failures"])
        assert answer["warnings"] == [], (app.name, answer["warnings"])
        assert answer["deposit_needed"] == "0"
        signature = requester.sign_typed_data(full_message=answer["request_typed_data"])
        match = buyer.post(
            "/api/v1/orders/match/",
            {
                "request": answer["request_typed_data"]["message"],
                "signature": "0x" + bytes(signature.signature).hex(),
                "app_order": answer["app_order"]["digest"],
                "dataset_order": answer["dataset_order"]["digest"] if dataset else "",
                "workerpool_order": answer["workerpool_order"]["digest"],
            },
            "json",
        )
        assert match.status_code == 200, match.json()
        _send(chain, requester, match.json()["transaction"])
        purchases.append(Purchase(app, dataset, match.json()["dealid"]))

    database = _database_lock(live_server)
    agent = _start_agent(live_server.url, anvil.url, pool, DEMO_AGENTS[0], tmp_path)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        dealids = [purchase.dealid for purchase in purchases]
        while True:
            with database:
                index_to_head(hub_deployment)
                lifecycle.scheduler_round(chain_id=CHAIN_ID, hub=demo)
            finished = TaskRun.objects.filter(dealid__in=dealids, status__in=FINISHED)
            if finished.count() == len(purchases):
                break
            if agent.poll() is not None or time.monotonic() > deadline:
                runs = list(TaskRun.objects.values("dealid", "status", "failure"))
                replicates = list(Replicate.objects.values("task__dealid", "status", "failure"))
                pytest.fail(f"Waited in vain: {runs} {replicates}\n{_log(tmp_path)}")
            time.sleep(0.2)
    finally:
        agent.terminate()
        agent.wait(timeout=30)

    page = Client()
    page.force_login(WalletFactory._meta.model.objects.get(address=requester.address).user)
    for purchase in purchases:
        run = TaskRun.objects.get(dealid=purchase.dealid)
        assert run.status == RunStatus.COMPLETED, (str(purchase), run.failure, _log(tmp_path))
        taskid = "0x" + task_id(purchase.dealid, 0).hex()
        result = page.get(f"/results/{taskid}/")
        assert result.status_code == 200
        assert result.context["verified"] is True, str(purchase)
        outputs = [m for m in result.context["members"] if m.name.startswith("output/")]
        assert outputs and all(m.size > 0 for m in outputs), (str(purchase), outputs)
        for member in outputs:
            assert member.kind in ("image", "text"), (str(purchase), member)
            if member.kind == "image":
                image = page.get(f"/results/{taskid}/file/{member.name}")
                assert image.status_code == 200 and image.content.startswith(PNG_SIGNATURE)
                assert f"/results/{taskid}/file/{member.name}" in result.content.decode()
            else:
                assert member.text.strip(), str(purchase)


def _start_agent(site: str, rpc_url: str, pool: str, number: int, folder: Path):
    log = (folder / "agent.log").open("ab")
    process = subprocess.Popen(  # noqa: S603 (our own command)
        [
            sys.executable,
            str(settings.BASE_DIR / "manage.py"),
            "run_worker",
            "--site",
            site,
            "--pool",
            pool,
            "--dev-account",
            str(number),
            "--work-dir",
            str(folder / "agent"),
            "--poll-seconds",
            "0.5",
        ],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "WEB3_RPC_URL": rpc_url,
            "CHAIN_ID": str(CHAIN_ID),
            "PYTHONUNBUFFERED": "1",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    return process


def _log(folder: Path) -> str:
    path = folder / "agent.log"
    return path.read_text(errors="replace")[-4000:] if path.exists() else ""
