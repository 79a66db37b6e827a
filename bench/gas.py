"""Gas benchmark of the Hub: gas used per call and per task, beside iExec PoCo's published figures.

    .venv/bin/python bench/gas.py

It starts its own anvil on 127.0.0.1 (a free port; the developer's chain is never touched),
deploys the contracts with dev account 0, registers an app, a dataset and a workerpool, funds
escrow stakes, then runs task lifecycles through marketplace.chain.hub and reads `gasUsed` from
the receipts (the whole transaction: 21,000 base, calldata and execution, net of refunds).

Figures are steady-state: each call is measured on a lifecycle run after an identical one, so
that accounts and scores already have storage (writing a zero slot costs 20,000 more). The
first-time figures of finalize (app and dataset owners paid for the first time), claim (first
credit of the kitty) and the three-worker task (first scores) are printed too, separately.

Scenarios: matchOrders of one task, without and with a dataset; a trust-1 task without dataset
with one worker (initialize, contribute, reveal, finalize); a trust-5 task whose three new
workers agree (initialize, 3 contribute, 3 reveal, finalize); claim of a trust-5 task with one
contribution after its final deadline. Apart: a deal of BATCH tasks initialized and claimed with
initializeArray and claimArray, and tasks at the contributor cap (MAX_CONTRIBUTORS new workers):
finalize with every one of them winning its first score point, and claim with every stake to
unlock (the most these calls cost; the block gas limit is 30 M).

It prints a table with each figure's ratio to PoCo's and whether it meets the target (at most
50 % of PoCo), and as its LAST line one JSON object of the steady-state figures.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

# marketplace.chain reads Django settings only when called: configure_django() comes first.
from django.conf import settings  # noqa: E402
from eth_account import Account  # noqa: E402
from eth_account.signers.local import LocalAccount  # noqa: E402
from eth_utils import keccak  # noqa: E402

from marketplace.chain import client  # noqa: E402
from marketplace.chain.anvil import running_anvil  # noqa: E402
from marketplace.chain.client import TransactionSender  # noqa: E402
from marketplace.chain.deploy import deploy_hub  # noqa: E402
from marketplace.chain.hub import (  # noqa: E402
    MAX_CONTRIBUTORS,
    AppRegistration,
    DatasetRegistration,
    Hub,
    WorkerpoolRegistration,
)
from marketplace.chain.ids import task_id  # noqa: E402
from marketplace.chain.keys import dev_account  # noqa: E402
from marketplace.chain.orders import (  # noqa: E402
    ZERO_ADDRESS,
    AppOrder,
    DatasetOrder,
    RequestOrder,
    WorkerpoolOrder,
    hub_domain,
    sign_order,
)
from marketplace.chain.signing import scheduler_authorization  # noqa: E402

# Published iExec PoCo v5 gas per call; the per-task figures are sums of these.
POCO = {"initialize": 237_399, "contribute": 417_035, "reveal": 92_905, "finalize": 277_899}
POCO["task_trust1"] = sum(POCO.values())
POCO["task_3workers"] = POCO["initialize"] + 3 * (POCO["contribute"] + POCO["reveal"])
POCO["task_3workers"] += POCO["finalize"]
TARGET_RATIO = 0.5

ECT = 10**9
CATEGORY_XS = 0
RUNS = 2  # lifecycles per scenario: the first warms the storage, the last is reported
BATCH = 10  # tasks of the deal refunded with initializeArray and claimArray


def configure_django(url: str) -> None:
    """The few settings marketplace.chain reads (node, chain id, confirmations); no database."""
    settings.configure(
        WEB3_RPC_URL=url, CHAIN_ID=31337, CHAIN_CONFIRMATIONS=0, CHAIN_RPC_TIMEOUT=30.0
    )


class Bench:
    """A deployed Hub with one app, dataset and pool, and funded participants (dev accounts:
    0 deployer, 1 app owner, 2 dataset owner, 3 scheduler, 4 requester, 5-7 workers)."""

    def __init__(self, url: str) -> None:
        self.w3 = client.web3(url=url)
        self.accounts = [dev_account(index) for index in range(8)]
        deployment = deploy_hub(self.w3, self.accounts[0])
        self.hub = Hub(w3=self.w3, address=deployment.hub)
        self.domain = hub_domain(chain_id=self.w3.eth.chain_id, hub_address=self.hub.address)
        self.senders = [TransactionSender(account, w3=self.w3) for account in self.accounts]
        self.deployer, self.app_owner, self.dataset_owner, self.scheduler, self.requester = (
            self.accounts[:5]
        )
        self.workers = self.accounts[5:8]
        # Deterministic digests and salts: calldata (hence gas) is the same at every run.
        self.digests = (hashlib.sha256(b"result %d" % n).digest() for n in itertools.count())
        self.salts = (hashlib.sha256(b"salt %d" % n).digest() for n in itertools.count())

        deployer = self.senders[0]
        self.app = self.hub.register(
            sender=deployer,
            asset=AppRegistration(
                owner=self.app_owner.address,
                name="bench app",
                multiaddr=b"http://127.0.0.1/app.wasm",
                checksum=hashlib.sha256(b"app").digest(),
            ),
        )
        self.dataset = self.hub.register(
            sender=deployer,
            asset=DatasetRegistration(
                owner=self.dataset_owner.address,
                name="bench dataset",
                multiaddr=b"http://127.0.0.1/dataset.bin",
                checksum=hashlib.sha256(b"dataset").digest(),
            ),
        )
        self.workerpool = self.hub.register(
            sender=deployer,
            asset=WorkerpoolRegistration(owner=self.scheduler.address, description="bench pool"),
        )
        deposits = {self.requester.address: 10_000 * ECT, self.scheduler.address: 1_000 * ECT}
        deposits.update({worker.address: 1_000 * ECT for worker in self.workers})
        self.hub.approve_call(amount=sum(deposits.values())).send(deployer)
        for address, amount in deposits.items():
            self.hub.deposit_for_call(amount=amount, target=address).send(deployer)

    def sender(self, account: LocalAccount) -> TransactionSender:
        return self.senders[self.accounts.index(account)]

    def match(self, *, with_dataset: bool, trust: int = 1, volume: int = 1) -> tuple[bytes, int]:
        """Sign four fresh orders and match them; (dealid, gas)."""

        app = AppOrder(app=self.app, appprice=ECT, volume=volume, salt=next(self.salts))
        dataset = DatasetOrder(
            dataset=self.dataset, datasetprice=ECT, volume=volume, salt=next(self.salts)
        )
        pool = WorkerpoolOrder(
            workerpool=self.workerpool,
            workerpoolprice=10 * ECT,
            volume=volume,
            category=CATEGORY_XS,
            trust=trust,
            salt=next(self.salts),
        )
        request = RequestOrder(
            app=self.app,
            appmaxprice=ECT,
            dataset=self.dataset if with_dataset else ZERO_ADDRESS,
            datasetmaxprice=ECT if with_dataset else 0,
            workerpoolmaxprice=10 * ECT,
            requester=self.requester.address,
            volume=volume,
            category=CATEGORY_XS,
            trust=trust,
            beneficiary=self.requester.address,
            params='{"args": "input.txt"}',
            salt=next(self.salts),
        )
        call = self.hub.match_orders_call(
            app_order=app,
            app_sign=sign_order(app, self.domain, self.app_owner.key),
            dataset_order=dataset if with_dataset else None,
            dataset_sign=sign_order(dataset, self.domain, self.dataset_owner.key),
            workerpool_order=pool,
            workerpool_sign=sign_order(pool, self.domain, self.scheduler.key),
            request_order=request,
            request_sign=sign_order(request, self.domain, self.requester.key),
        )
        receipt = call.send(self.sender(self.requester))
        (matched,) = self.hub.orders_matched(receipt)
        return matched.dealid, receipt["gasUsed"]

    def initialize(self, dealid: bytes, idx: int = 0) -> tuple[bytes, int]:
        receipt = self.hub.initialize(sender=self.sender(self.scheduler), dealid=dealid, idx=idx)
        return task_id(dealid, idx), receipt["gasUsed"]

    def contribute(self, worker: LocalAccount, taskid: bytes, digest: bytes) -> int:
        authorization = scheduler_authorization(
            worker=worker.address, taskid=taskid, scheduler_key=self.scheduler
        )
        receipt = self.hub.commit(
            sender=self.sender(worker), taskid=taskid, digest=digest, authorization=authorization
        )
        return receipt["gasUsed"]

    def reveal(self, worker: LocalAccount, taskid: bytes, digest: bytes) -> int:
        receipt = self.hub.reveal(sender=self.sender(worker), taskid=taskid, digest=digest)
        return receipt["gasUsed"]

    def finalize(self, taskid: bytes) -> int:
        results = b"http://127.0.0.1/results/" + taskid.hex().encode()
        receipt = self.hub.finalize(
            sender=self.sender(self.scheduler), taskid=taskid, results=results
        )
        return receipt["gasUsed"]

    def task(
        self, *, workers: list[LocalAccount], trust: int, with_dataset: bool
    ) -> dict[str, int]:
        """One task in which every worker of `workers` contributes the same result; gas per
        call (contribute and reveal: the last worker's) and in total."""
        dealid, match_gas = self.match(with_dataset=with_dataset, trust=trust)
        taskid, gas = self.initialize(dealid)
        figures = {"matchOrders": match_gas, "initialize": gas}
        total = gas
        digest = next(self.digests)
        for worker in workers:
            figures["contribute"] = self.contribute(worker, taskid, digest)
            total += figures["contribute"]
        for worker in workers:
            figures["reveal"] = self.reveal(worker, taskid, digest)
            total += figures["reveal"]
        figures["finalize"] = self.finalize(taskid)
        figures["total"] = total + figures["finalize"]
        return figures

    def claims(self) -> list[int]:
        """Gas of claiming, one after the other, the tasks of a trust-5 deal of RUNS tasks that
        got one contribution each and passed their final deadline."""

        dealid, _ = self.match(with_dataset=False, trust=5, volume=RUNS)
        taskids = [self.initialize(dealid, idx)[0] for idx in range(RUNS)]
        for taskid in taskids:
            self.contribute(self.workers[0], taskid, next(self.digests))
        final_deadline = self.hub.task(taskids[0]).final_deadline
        now = self.w3.eth.get_block("latest")["timestamp"]
        client.rpc("evm_increaseTime", [final_deadline - now], w3=self.w3)
        client.rpc("evm_mine", w3=self.w3)
        anyone = self.sender(self.deployer)
        return [self.hub.claim(sender=anyone, taskid=taskid)["gasUsed"] for taskid in taskids]

    def _pass_final_deadline(self, taskid: bytes) -> None:
        final_deadline = self.hub.task(taskid).final_deadline
        now = self.w3.eth.get_block("latest")["timestamp"]
        client.rpc("evm_increaseTime", [final_deadline - now], w3=self.w3)
        client.rpc("evm_mine", w3=self.w3)

    def batch_refund(self) -> tuple[int, int]:
        """Gas of initializeArray then claimArray over a whole deal of BATCH tasks nobody
        served (a scheduler refunding a deal it cannot serve)."""
        dealid, _ = self.match(with_dataset=False, volume=BATCH)
        scheduler = self.sender(self.scheduler)
        receipt = self.hub.initialize_array(
            sender=scheduler, tasks=[(dealid, idx) for idx in range(BATCH)]
        )
        taskids = [task_id(dealid, idx) for idx in range(BATCH)]
        self._pass_final_deadline(taskids[0])
        claimed = self.hub.claim_array(sender=scheduler, taskids=taskids)
        return receipt["gasUsed"], claimed["gasUsed"]

    def at_the_cap(self) -> tuple[int, int]:
        """(finalize, claim) of tasks with MAX_CONTRIBUTORS contributions by new workers: at
        trust 2**31 + 1 the last of them brings consensus, all reveal and win their first
        point; at trust 2**32 + 1 none is reached and claim unlocks every stake."""
        workers = [
            Account.from_key(keccak(text=f"bench worker {n}")) for n in range(MAX_CONTRIBUTORS)
        ]
        deployer = self.senders[0]
        self.hub.approve_call(amount=len(workers) * 10 * ECT).send(deployer)
        for worker in workers:
            client.rpc("anvil_setBalance", [worker.address, hex(10**18)], w3=self.w3)
            self.hub.deposit_for_call(amount=10 * ECT, target=worker.address).send(deployer)
            self.senders.append(TransactionSender(worker, w3=self.w3))
            self.accounts.append(worker)
        figures = []
        for trust in (2**31 + 1, 2**32 + 1):
            dealid, _ = self.match(with_dataset=False, trust=trust)
            taskid, _ = self.initialize(dealid)
            digest = next(self.digests)
            for worker in workers:
                self.contribute(worker, taskid, digest)
            if trust == 2**31 + 1:
                for worker in workers:
                    self.reveal(worker, taskid, digest)
                figures.append(self.finalize(taskid))
            else:
                self._pass_final_deadline(taskid)
                anyone = self.sender(self.deployer)
                figures.append(self.hub.claim(sender=anyone, taskid=taskid)["gasUsed"])
        return figures[0], figures[1]


def verdict(gas: int, reference: int | None) -> tuple[str, str, str]:
    if reference is None:
        return "—", "—", "—"
    ratio = gas / reference
    return f"{reference:,}", f"{ratio:.0%}", "yes" if ratio <= TARGET_RATIO else "NO"


def main() -> int:
    with running_anvil() as node:
        configure_django(node.url)
        bench = Bench(node.url)

        with_dataset = [bench.task(workers=bench.workers[:1], trust=1, with_dataset=True)]
        trust1 = [
            bench.task(workers=bench.workers[:1], trust=1, with_dataset=False) for _ in range(RUNS)
        ]
        # Three new workers agreeing reach consensus at the third with trust 5 (8 * 5 > 9 * 4).
        three = [
            bench.task(workers=bench.workers, trust=5, with_dataset=False) for _ in range(RUNS)
        ]
        with_dataset += [bench.task(workers=bench.workers[:1], trust=1, with_dataset=True)]
        claims = bench.claims()
        batch_initialize, batch_claim = bench.batch_refund()
        finalize_cap, claim_cap = bench.at_the_cap()

    steady = trust1[-1]
    summary = {
        "matchOrders": steady["matchOrders"],
        "matchOrders_dataset": with_dataset[-1]["matchOrders"],
        "initialize": steady["initialize"],
        "contribute": steady["contribute"],
        "reveal": steady["reveal"],
        "finalize": steady["finalize"],
        "claim": claims[-1],
        "task_trust1": steady["total"],
        "task_3workers": three[-1]["total"],
    }
    rows = [
        ("matchOrders (no dataset)", summary["matchOrders"], None),
        ("matchOrders (with dataset)", summary["matchOrders_dataset"], None),
        ("initialize", summary["initialize"], POCO["initialize"]),
        ("contribute", summary["contribute"], POCO["contribute"]),
        ("reveal", summary["reveal"], POCO["reveal"]),
        ("finalize (1 worker)", summary["finalize"], POCO["finalize"]),
        ("finalize (1 worker, dataset)", with_dataset[-1]["finalize"], POCO["finalize"]),
        ("finalize (3 workers)", three[-1]["finalize"], POCO["finalize"]),
        ("claim", summary["claim"], None),
        ("task, trust 1, 1 worker", summary["task_trust1"], POCO["task_trust1"]),
        ("task, trust 5, 3 workers", summary["task_3workers"], POCO["task_3workers"]),
    ]
    first_time = [
        ("matchOrders, first deal ever", with_dataset[0]["matchOrders"]),
        ("finalize, owners paid first time", with_dataset[0]["finalize"]),
        ("finalize, 3 workers, first scores", three[0]["finalize"]),
        ("task, 3 workers, first scores", three[0]["total"]),
        ("claim, kitty credited first time", claims[0]),
    ]

    print("Gas used per transaction (steady state), beside iExec PoCo v5's published figures")
    print(f"{'call':<32}{'gas':>10}{'PoCo':>11}{'ratio':>8}{'<= 50 %':>9}")
    for name, gas, reference in rows:
        published, ratio, met = verdict(gas, reference)
        print(f"{name:<32}{gas:>10,}{published:>11}{ratio:>8}{met:>9}")
    print("\nFirst-time figures (storage slots written from zero), not in the JSON:")
    for name, gas in first_time:
        print(f"{name:<32}{gas:>10,}")
    print(f"\nBatches of a deal of {BATCH} tasks nobody served, and the contributor cap:")
    bounds = [
        (f"initializeArray, {BATCH} tasks", batch_initialize),
        (f"claimArray, {BATCH} tasks", batch_claim),
        (f"finalize, {MAX_CONTRIBUTORS} winners (cap)", finalize_cap),
        (f"claim, {MAX_CONTRIBUTORS} contributors (cap)", claim_cap),
    ]
    for name, gas in bounds:
        print(f"{name:<32}{gas:>10,}")
    print(
        "\nPoCo per-task references are sums of its per-call figures (3 workers: initialize "
        "+ 3 contribute + 3 reveal + finalize); contribute and reveal rows are the last "
        "worker's; matchOrders and claim have no published reference here."
    )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
