"""The Hub's codes and ids: one definition of each kind and status, stored as the index always
stored them, read back from the Hub's codes; and no web3 to import them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from eth_utils import keccak

from marketplace.catalogue import models as catalogue_models
from marketplace.chain.ids import (
    ContributionStatus,
    Market,
    OrderKind,
    TaskStatus,
    deal_id,
    result_hash,
    result_seal,
    task_id,
    to_bytes32,
)
from marketplace.indexer import models

WORKER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
DEALID = bytes(range(32))
DIGEST = bytes(range(32, 64))


def test_the_models_store_the_same_words_and_labels_as_ever():
    assert models.OrderFill._meta.get_field("kind").choices == [
        ("app", "App order"),
        ("dataset", "Dataset order"),
        ("workerpool", "Workerpool order"),
        ("request", "Request order"),
    ]
    assert models.Task._meta.get_field("status").choices == [
        ("active", "Running"),
        ("revealing", "Revealing"),
        ("completed", "Completed"),
        ("failed", "Failed"),
    ]
    assert models.Contribution._meta.get_field("status").choices == [
        ("contributed", "Contributed"),
        ("revealed", "Revealed"),
        ("rejected", "Rejected (not revealed in time)"),
        ("accurate", "Accurate"),
        ("faulty", "Faulty"),
    ]
    assert TaskStatus.values == ["active", "revealing", "completed", "failed"]
    assert models.Asset._meta.get_field("kind").choices == [
        ("app", "App"),
        ("dataset", "Dataset"),
        ("pool", "Worker pool"),
    ]


def test_the_models_and_the_chain_share_one_definition():
    assert models.OrderKind is OrderKind
    assert models.TaskStatus is TaskStatus
    assert models.ContributionStatus is ContributionStatus
    assert models.Market is Market
    assert catalogue_models.Market is Market


@pytest.mark.parametrize(
    ("enum", "codes"),
    [
        (OrderKind, ["app", "dataset", "workerpool", "request"]),
        (TaskStatus, ["unset", "active", "revealing", "completed", "failed"]),
        (ContributionStatus, ["unset", "contributed", "revealed", "rejected"]),
    ],
)
def test_each_code_of_the_hub_reads_back_as_its_member(enum, codes):
    assert [enum.from_code(code).value for code in range(len(codes))] == codes
    assert all(enum.from_code(member.code) is member for member in enum if member.code is not None)
    with pytest.raises(ValueError, match=f"{len(codes)} is not a {enum.__name__} code"):
        enum.from_code(len(codes))


def test_a_member_is_its_stored_word():
    assert TaskStatus.ACTIVE == "active" and f"{TaskStatus.ACTIVE}" == "active"
    assert {"completed": 1}[TaskStatus.COMPLETED] == 1  # hashes as its word: a dict key
    assert TaskStatus("failed") is TaskStatus.FAILED


def test_the_hubs_proved_is_the_indexs_revealed():
    assert ContributionStatus.PROVED is ContributionStatus.REVEALED
    assert ContributionStatus.from_code(2) == "revealed"


def test_states_only_the_index_knows_have_no_hub_code():
    assert (ContributionStatus.ACCURATE.code, ContributionStatus.FAULTY.code) == (None, None)
    assert "unset" not in TaskStatus.values


def test_ids_and_commitments_are_the_hubs_hashes():
    assert task_id(DEALID, 7) == keccak(DEALID + (7).to_bytes(32, "big"))
    assert task_id("0x" + DEALID.hex(), 7) == task_id(DEALID, 7)
    assert deal_id(DIGEST, 3) == keccak(DIGEST + (3).to_bytes(32, "big"))
    assert result_hash(DEALID, DIGEST) == keccak(DEALID + DIGEST)
    assert result_seal(WORKER.lower(), DEALID, DIGEST) == keccak(
        bytes.fromhex(WORKER[2:]) + DEALID + DIGEST
    )


def test_a_bytes32_of_another_length_is_refused_by_name():
    with pytest.raises(ValueError, match="taskid must be 32 bytes"):
        result_hash(b"\x01" * 31, DIGEST)
    with pytest.raises(ValueError, match="tag must be 32 bytes"):
        to_bytes32("0xzz", "tag")


def test_importing_the_ids_and_the_chain_package_loads_no_web3():
    code = (
        "import sys; import marketplace.chain, marketplace.chain.ids; "
        "sys.exit('web3' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], check=False)  # noqa: S603 - our code
    assert run.returncode == 0
