"""The result page of a task and its image previews: what the buyer sees of the archive the
winning workers uploaded, read in bounded chunks, whatever a worker managed to store."""

from __future__ import annotations

import hashlib
import io
import secrets
import tarfile

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from marketplace.indexer.models import Asset, OrderKind
from marketplace.orders.models import DemandSample, Order, OrderStatus
from pools.models import Replicate, ReplicateStatus, TaskRun
from pools.views import IMAGE_PREVIEW_BYTES, SHOWN_FILES, TEXT_PREVIEW_BYTES
from tests.factories.accounts import UserFactory, WalletFactory
from tests.factories.catalogue import WorkerpoolFactory
from tests.factories.deals import DealFactory, TaskFactory
from tests.worker import archives

pytestmark = pytest.mark.django_db

WORKER = "0x" + "ab" * 20


def stored_result(client, archive: bytes) -> str:
    """A completed task whose winning worker stored `archive`, the client signed in as its
    buyer; returns the task id."""
    wallet = WalletFactory()
    deal = DealFactory(requester=wallet.address)
    digest = "0x" + hashlib.sha256(archive).hexdigest()
    task = TaskFactory(deal=deal, result_digest=digest)
    run = TaskRun.objects.create(
        chain_id=31337, taskid=task.taskid, dealid=deal.dealid, idx=0, workerpool=deal.workerpool,
        trust=1, result_digest=digest,
    )  # fmt: skip
    Replicate.objects.create(
        task=run, worker=WORKER, status=ReplicateStatus.REVEALED, digest=digest,
        lease_until=timezone.now(),
    )  # fmt: skip
    default_storage.save(f"results/{task.taskid}/{WORKER}.tar", ContentFile(archive))
    client.force_login(wallet.user)
    return task.taskid


def test_the_page_shows_an_agents_archive_with_previews(client):
    png = b"\x89PNG\r\n\x1a\n" + bytes(100)
    taskid = stored_result(
        client, archives.agent_archive({"out.txt": b"forty-two\n", "pic.png": png})
    )

    page = client.get(f"/results/{taskid}/").content.decode()

    assert "Verified." in page and "forty-two" in page
    assert f"/results/{taskid}/file/output/pic.png" in page
    image = client.get(f"/results/{taskid}/file/output/pic.png")
    assert image.status_code == 200 and image.content == png
    assert image["Content-Type"] == "image/png"


@pytest.mark.parametrize("hostile", archives.HOSTILE.values(), ids=archives.HOSTILE.keys())
def test_a_hostile_archive_on_disk_gets_a_message_not_a_500(client, hostile):
    build_hostile, refusal = hostile
    taskid = stored_result(client, build_hostile())

    response = client.get(f"/results/{taskid}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "No preview." in page and refusal.replace("'", "&#x27;") in page
    assert "this site does not open it" in page
    assert "Verified." in page  # its digest is still what the workers agreed on
    assert client.get(f"/results/{taskid}/download/").status_code == 200


def test_an_image_of_a_hostile_archive_is_not_served(client):
    taskid = stored_result(client, archives.gzip_bomb("output/zeros.png"))

    assert client.get(f"/results/{taskid}/file/output/zeros.png").status_code == 404


def test_text_previews_stop_at_their_limit(client):
    long_text = b"a" * TEXT_PREVIEW_BYTES + b"THE REST"
    taskid = stored_result(client, archives.agent_archive({"long.txt": long_text}))

    page = client.get(f"/results/{taskid}/").content.decode()

    assert "a" * TEXT_PREVIEW_BYTES in page and "THE REST" not in page
    assert "download the archive for the rest" in page


def test_large_images_are_listed_not_previewed(client):
    big = b"\x89PNG\r\n\x1a\n" + bytes(IMAGE_PREVIEW_BYTES)
    taskid = stored_result(client, archives.agent_archive({"big.png": big}))

    page = client.get(f"/results/{taskid}/").content.decode()

    assert f"/results/{taskid}/file/output/big.png" not in page
    assert "are not previewed: download the archive" in page
    assert client.get(f"/results/{taskid}/file/output/big.png").status_code == 404


def test_the_page_shows_a_bounded_number_of_files(client):
    files = {f"{index:04d}.txt": b"x" for index in range(SHOWN_FILES + 5)}
    taskid = stored_result(client, archives.agent_archive(files))

    page = client.get(f"/results/{taskid}/").content.decode()

    assert page.count('class="panel result-member"') == SHOWN_FILES
    # The logs come first in the archive: the output's last files are the ones left out.
    assert "7 more files not shown: download the archive." in page


def test_a_plain_tar_with_a_link_stored_before_the_checks_is_not_followed(client):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        link = tarfile.TarInfo("output/secret.png")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    taskid = stored_result(client, data.getvalue())

    assert client.get(f"/results/{taskid}/").status_code == 200
    assert client.get(f"/results/{taskid}/file/output/secret.png").status_code == 404


def test_a_visitor_not_signed_in_is_told_which_wallets_see_a_result(client):
    taskid = stored_result(client, archives.agent_archive({"out.txt": b"forty-two\n"}))
    client.logout()

    response = client.get(f"/results/{taskid}/")

    assert response.status_code == 403
    page = response.content.decode()
    assert "the deal&#x27;s requester, its beneficiary or the pool&#x27;s owner" in page
    assert "forty-two" not in page


# ---------------------------------------------------------------------- demand


def _requests_asked(*volumes: int) -> None:
    """Recent requests asked of the market, of these volumes, each needing eu-west."""
    for volume in volumes:
        DemandSample.objects.create(
            chain_id=settings.CHAIN_ID,
            request={"Requester": WORKER, "AppTags": ["image"], "Category": 0, "Volume": volume},
            requirements={"region": "eu-west", "trust": 1},
        )


def _check(client, url: str, requirements: str):
    return client.post(
        url,
        {
            "requirements": requirements,
            "cpu_cores": "4",
            "memory_mb": "8192",
            "location": "eu-west",
        },
        HTTP_HX_REQUEST="true",
    )


def test_the_live_check_tells_the_owner_how_many_recent_requests_the_requirements_match(client):
    _requests_asked(20, 2, 50)
    DemandSample.objects.filter(request__Volume=50).update(requirements={"region": "us-east"})
    listing = WorkerpoolFactory().listing
    client.force_login(listing.owner)
    url = reverse("pool_requirements_check", args=[listing.slug])

    answer = _check(client, url, "TARGET.Volume >= 10").content.decode()

    assert (
        "This matches <strong>1</strong> of the last 3 requests (1 refused by these "
        "requirements, 1 asks for something this pool does not have)." in answer
    )
    assert "What they ask for: another region (1)." in answer


def test_the_live_check_answers_a_bad_expression_with_the_parsers_message(client):
    listing = WorkerpoolFactory().listing
    client.force_login(listing.owner)
    url = reverse("pool_requirements_check", args=[listing.slug])

    answer = _check(client, url, "TARGET.Volume >= 10 &&").content.decode()

    assert answer.strip() == (
        '<p class="error" role="alert">Not a ClassAd expression: it ends with an operator that '
        "has nothing on its right.</p>"
    )


def test_the_live_check_is_for_the_pools_owner_only(client):
    _requests_asked(20)
    listing = WorkerpoolFactory().listing
    url = reverse("pool_requirements_check", args=[listing.slug])

    anonymous = _check(client, url, "")
    client.force_login(UserFactory())
    stranger = _check(client, url, "")

    assert anonymous.status_code == 403 and "Sign in" in anonymous.content.decode()
    assert stranger.status_code == 403
    assert "Only the pool&#x27;s owner sees the demand" in stranger.content.decode()
    assert "This matches" not in stranger.content.decode()


def test_a_new_pool_is_checked_against_demand_only_for_someone_who_runs_a_pool(client):
    _requests_asked(20)
    url = reverse("pool_requirements_check_new")
    newcomer = UserFactory()
    client.force_login(newcomer)

    first = _check(client, url, "TARGET.Volume >= 10").content.decode()
    WorkerpoolFactory(listing__owner=newcomer)
    operator = _check(client, url, "TARGET.Volume >= 10").content.decode()

    assert "The expression reads well." in first and "This matches" not in first
    assert "This matches <strong>1</strong> of the last 1 request " in operator


def test_the_demand_page_is_its_owners_and_says_when_there_is_nothing_to_show(client):
    unregistered = WorkerpoolFactory(requirements="TARGET.Volume >= 10").listing
    registered = WorkerpoolFactory(listing__chain_address="0x" + "12" * 20).listing
    url = reverse("pool_demand", args=[unregistered.slug])

    assert client.get(url).status_code == 302  # to sign in
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403
    client.force_login(unregistered.owner)
    page = client.get(url).content.decode()
    client.force_login(registered.owner)
    empty = client.get(reverse("pool_demand", args=[registered.slug])).content.decode()

    assert 'Requirements: <code class="mono">TARGET.Volume &gt;= 10</code>' in page
    assert "No request has been asked of the market yet: nothing to check against." in page
    assert "This pool is not registered on chain yet." in page
    assert "No open request in the book fits this pool right now." in empty
    assert "No open request in the book is out of this pool's reach." in empty


def test_the_pool_page_links_its_owner_to_the_demand(client):
    listing = WorkerpoolFactory().listing
    link = f'href="{reverse("pool_demand", args=[listing.slug])}"'

    client.force_login(UserFactory())
    stranger = client.get(listing.get_absolute_url()).content.decode()
    client.force_login(listing.owner)
    owner = client.get(listing.get_absolute_url()).content.decode()

    assert link in owner and link not in stranger


def _book_order(**fields) -> Order:
    """An open order as the book keeps it (written here: the page only reads the book)."""
    return Order.objects.create(
        **{
            "chain_id": settings.CHAIN_ID,
            "hub": "0x" + "00" * 20,
            "digest": "0x" + secrets.token_hex(32),
            "price": 0,
            "volume": 50,
            "remaining": 50,
            "tag": "0x" + "00" * 32,
            "category": 0,
            "trust": 1,
            "message": {},
            "status": OrderStatus.OPEN,
            **fields,
        }
    )


def test_the_demand_page_lists_the_requests_the_pool_could_serve_and_why_not_the_others(client):
    address = "0x" + "12" * 20
    listing = WorkerpoolFactory(listing__chain_address=address, location="eu-west").listing
    Asset.objects.create(
        chain_id=settings.CHAIN_ID, address=address, kind="pool", owner=WORKER, listing=listing,
        name=listing.name, registered_block=1, block_number=1,
    )  # fmt: skip
    offer = _book_order(kind=OrderKind.WORKERPOOL, asset=address, signer=WORKER, price=3 * 10**9)
    for region in ("eu-west", "us-east"):
        _book_order(
            kind=OrderKind.REQUEST, asset="0x" + "a1" * 20, signer="0x" + "44" * 20, volume=5,
            remaining=5, price=4 * 10**9, requirements={"region": region},
            message={"appmaxprice": "1000000000", "workerpoolmaxprice": "3000000000"},
        )  # fmt: skip
    client.force_login(listing.owner)

    page = client.get(reverse("pool_demand", args=[listing.slug])).content.decode()

    servable = page[page.index('id="servable"') : page.index('id="rejected"')]
    rejected = page[page.index('id="rejected"') :]
    assert 'Open requests it could serve now <span class="muted">(1)</span>' in servable
    assert f"{offer.digest[:11]}…" in servable and "<td>3 ECT" in servable
    assert 'Open requests it does not take <span class="muted">(1)</span>' in rejected
    assert "<p>This pool is outside North America East.</p>" in rejected
