"""The result page of a task and its image previews: what the buyer sees of the archive the
winning workers uploaded, read in bounded chunks, whatever a worker managed to store."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from pools.models import Replicate, ReplicateStatus, TaskRun
from pools.views import IMAGE_PREVIEW_BYTES, SHOWN_FILES, TEXT_PREVIEW_BYTES
from tests.factories.accounts import WalletFactory
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
