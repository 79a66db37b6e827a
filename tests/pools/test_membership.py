"""Only a pool's own workers work (anvil, the worker API): admission by hand and by conditions,
dataset keys only where the data owner agreed, failure reports that give a task up only when
members in good standing agree, and standing lost when other workers' success contradicts
them. Each attack here worked before pools had members."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from eth_account import Account as EthAccount

from datamarket.models import KeyRelease
from marketplace.accounts.models import Wallet
from marketplace.indexer.models import Task, WorkerBond
from pools import lifecycle, membership, scheduler
from pools.models import (
    Admission,
    AdmittedVia,
    MembershipAction,
    MembershipDecision,
    MemberStatus,
    PoolMember,
    Replicate,
    ReplicateStatus,
    RunStatus,
    TaskRun,
)
from pools.work import replicate_fail
from tests.chain_scaffold import ECT
from tests.factories.accounts import UserFactory, WalletFactory
from tests.marketplace.indexer.helpers import index_to_head
from tests.pools.test_worker_api import worker_client
from tests.worker import test_agent

pytestmark = pytest.mark.django_db
bought = test_agent.bought  # resvg on an encrypted drawing, one task started in market's pool

CHAIN_ID = 31337


def _work(address: str, pool: str | None):
    return worker_client(address).post(
        "/api/v1/workers/work/", {"pool": pool} if pool else {}, "json"
    )


def _run() -> TaskRun:
    (run,) = TaskRun.objects.all()
    return run


def _operator(market):
    """The pool owner's account on the site, signed in with its wallet."""
    wallet = Wallet.objects.filter(address=market.scheduler.address).first()
    return (wallet or WalletFactory(address=market.scheduler.address)).user


# ---------------------------------------------------------------------- admission


def test_a_wallet_that_is_not_a_member_gets_no_work_and_is_told_how_to_apply(bought):
    market, _, _ = bought
    stranger = EthAccount.create()

    for pool in (market.workerpool, None):
        refused = _work(stranger.address, pool)
        assert refused.status_code == 403
        assert "apply" in refused.json()["error"].lower()
    assert not Replicate.objects.filter(worker=stranger.address).exists()


@pytest.mark.parametrize(
    ("note", "kind"), [(5, "a number"), (None, "null"), (["hi"], "a list"), (True, "true or false")]
)
def test_an_application_whose_note_is_not_text_is_refused_and_asks_nothing(note, kind):
    pool = EthAccount.create().address

    answer = worker_client(EthAccount.create().address).post(
        f"/api/v1/workers/pools/{pool}/apply/", {"note": note}, "json"
    )

    assert answer.status_code == 400
    assert answer.json() == {
        "error": f"note must be a string of at most 300 characters, not {kind}.",
        "field": "note",
    }
    assert not PoolMember.objects.exists()


def test_a_request_waits_for_the_operator_who_approves_refuses_or_removes(bought):
    market, _, _ = bought
    worker = EthAccount.create()
    client = worker_client(worker.address)

    asked = client.post(
        f"/api/v1/workers/pools/{market.workerpool}/apply/", {"note": "8 cores in Lyon"}, "json"
    )
    assert asked.status_code == 200
    assert asked.json()["status"] == "requested" and not asked.json()["good_standing"]
    waiting = client.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json")
    assert waiting.status_code == 403 and "waits for its operator" in waiting.json()["error"]

    operator = _operator(market)
    member = PoolMember.objects.get(worker=worker.address)
    membership.member_decide(
        member=member, action="approved", actor=operator, actor_wallet=market.scheduler.address
    )
    given = client.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json")
    assert given.status_code == 201

    membership.member_decide(
        member=member,
        action="removed",
        actor=operator,
        actor_wallet=market.scheduler.address,
        reason="Went silent three times.",
    )
    # Its replicate goes to another member at once; it gets no more work.
    replicate = Replicate.objects.get(worker=worker.address)
    assert replicate.status == ReplicateStatus.EXPIRED
    assert "removed" in replicate.failure
    assert _work(market.workers[0].address, market.workerpool).status_code == 201
    removed = client.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json")
    assert removed.status_code == 403 and "removed you" in removed.json()["error"]
    again = client.post(f"/api/v1/workers/pools/{market.workerpool}/apply/", {}, "json")
    assert again.status_code == 409

    history = [
        (d.action, d.decided_by_wallet, d.reason)
        for d in MembershipDecision.objects.filter(member=member).order_by("at", "id")
    ]
    assert history == [
        (MembershipAction.REQUESTED, "", "8 cores in Lyon"),
        (MembershipAction.APPROVED, market.scheduler.address, ""),
        (MembershipAction.REMOVED, market.scheduler.address, "Went silent three times."),
    ]


def test_only_legal_decisions_are_taken_and_a_removal_needs_a_reason(bought):
    market, _, _ = bought
    operator = _operator(market)
    member = PoolMember.objects.get(worker=market.workers[0].address)  # active, by hand
    with pytest.raises(membership.MembershipError, match="cannot be request approved"):
        membership.member_decide(
            member=member, action="approved", actor=operator, actor_wallet=operator.username
        )
    with pytest.raises(membership.MembershipError, match="Say why"):
        membership.member_decide(member=member, action="removed", actor=operator, actor_wallet="")
    with pytest.raises(membership.MembershipError, match="one of"):
        membership.member_decide(member=member, action="promoted", actor=operator, actor_wallet="")
    assert PoolMember.objects.get(pk=member.pk).status == MemberStatus.ACTIVE
    assert not MembershipDecision.objects.filter(member=member).exists()


def test_only_the_pools_owner_decides(bought):
    market, _, _ = bought
    stranger = UserFactory()
    WalletFactory(user=stranger, address=market.workers[0].address)
    with pytest.raises(membership.NotAllowed, match="Only the pool's owner"):
        membership.operator_wallet(user=stranger, chain_id=CHAIN_ID, workerpool=market.workerpool)
    owner = _operator(market)
    assert (
        membership.operator_wallet(user=owner, chain_id=CHAIN_ID, workerpool=market.workerpool)
        == market.scheduler.address
    )


def test_an_automatic_pool_admits_a_bonded_worker_and_drops_it_when_the_bond_is_noticed(
    bought, hub_deployment
):
    market, _, _ = bought
    hub, worker, pool = market.hub, market.accounts[9], market.workerpool
    membership.policy_set(
        chain_id=CHAIN_ID,
        workerpool=pool,
        actor=_operator(market),
        actor_wallet=market.scheduler.address,
        admission=Admission.AUTOMATIC,
        bond_min=10 * ECT,
        score_min=0,
        seize_bond_on_contradiction=False,
    )
    client = worker_client(worker.address)

    refused = client.post(f"/api/v1/workers/pools/{pool}/apply/", {}, "json").json()
    assert refused["status"] == "refused"
    decision = MembershipDecision.objects.filter(action=MembershipAction.REFUSED).get()
    assert "a bond of 10 ECT" in decision.reason and "bond(" in decision.reason

    hub.approve_call(amount=10 * ECT).send(market.sender(market.funder))
    hub.deposit_for_call(amount=10 * ECT, target=worker.address).send(market.sender(market.funder))
    hub.bond_call(workerpool=pool, amount=10 * ECT).send(market.sender(worker))
    index_to_head(hub_deployment)
    admitted = client.post(f"/api/v1/workers/pools/{pool}/apply/", {}, "json").json()
    assert (admitted["status"], admitted["admitted_via"], admitted["good_standing"]) == (
        "active",
        "policy",
        True,
    )

    hub.request_unbond_call(workerpool=pool).send(market.sender(worker))
    index_to_head(hub_deployment)
    assert WorkerBond.objects.get(worker=worker.address).unbond_at is not None
    lapsed = client.post("/api/v1/workers/work/", {"pool": pool}, "json")
    assert lapsed.status_code == 403
    assert "gave notice on your bond" in lapsed.json()["error"]


def test_automatic_admission_needs_a_condition(bought):
    market, _, _ = bought
    with pytest.raises(membership.MembershipError, match="needs a condition"):
        membership.policy_set(
            chain_id=CHAIN_ID,
            workerpool=market.workerpool,
            actor=None,
            actor_wallet="",
            admission=Admission.AUTOMATIC,
            bond_min=0,
            score_min=0,
            seize_bond_on_contradiction=False,
        )


# ---------------------------------------------------------------------- dataset keys


def _assigned(market, worker) -> int:
    answer = _work(worker.address, market.workerpool)
    assert answer.status_code == 201, answer.json()
    return answer.json()["work"]["replicate"]


def test_the_key_goes_to_the_assigned_member_and_each_release_is_logged(bought):
    market, _, dataset = bought
    worker = market.workers[0]
    client = worker_client(worker.address)
    pk = client.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json").json()["work"][
        "replicate"
    ]

    answer = client.get(f"/api/v1/workers/replicates/{pk}/dataset-key/")

    assert answer.status_code == 200 and answer.json()["key"]
    (release,) = KeyRelease.objects.all()
    run = _run()
    assert (release.dataset_id, release.worker, release.workerpool, release.taskid) == (
        dataset.pk,
        worker.address,
        market.workerpool,
        run.taskid,
    )
    assert release.admitted_via == "hand"


def test_the_buyer_gets_neither_a_replicate_of_its_deal_nor_its_key(bought):
    market, _, _ = bought
    buyer = market.requester
    membership.member_invite(
        chain_id=CHAIN_ID,
        workerpool=market.workerpool,
        worker=buyer.address,
        actor=None,
        actor_wallet=market.scheduler.address,
    )
    client = worker_client(buyer.address)

    nothing = client.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json")
    assert nothing.status_code == 200 and nothing.json()["work"] is None

    # Even with a replicate (handed out before this rule), no key.
    run = _run()
    replicate = Replicate.objects.create(
        task=run, worker=buyer.address, authorization="0x", lease_until=timezone.now()
    )
    Replicate.objects.filter(pk=replicate.pk).update(
        lease_until=timezone.now() + datetime.timedelta(minutes=1)
    )
    refused = client.get(f"/api/v1/workers/replicates/{replicate.pk}/dataset-key/")
    assert refused.status_code == 403 and "buyer" in refused.json()["error"]
    assert not KeyRelease.objects.exists()


def test_a_member_of_another_pool_gets_no_key(bought, hub_deployment):
    market, _, _ = bought
    other_pool = market.add_workerpool(owner=market.other_scheduler, description="Elsewhere")
    index_to_head(hub_deployment)
    outsider = EthAccount.create()
    membership.member_invite(
        chain_id=CHAIN_ID,
        workerpool=other_pool,
        worker=outsider.address,
        actor=None,
        actor_wallet=market.other_scheduler.address,
    )
    replicate = Replicate.objects.create(
        task=_run(),
        worker=outsider.address,
        authorization="0x",
        lease_until=timezone.now() + datetime.timedelta(minutes=1),
    )
    client = worker_client(outsider.address)

    refused = client.get(f"/api/v1/workers/replicates/{replicate.pk}/dataset-key/")

    assert refused.status_code == 403 and "not a member" in refused.json()["error"]
    assert (
        client.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json").status_code == 403
    )
    assert not KeyRelease.objects.exists()


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ({"key_hand_admitted_only": True}, "admitted by hand"),
        ({"key_min_score": 5}, "score 5 or more; yours is 0"),
    ],
)
def test_the_dataset_owners_conditions_hold(bought, hub_deployment, condition, words):
    market, _, dataset = bought
    for name, value in condition.items():
        setattr(dataset, name, value)
    dataset.save()
    worker = market.workers[0]
    PoolMember.objects.filter(worker=worker.address).update(admitted_via=AdmittedVia.POLICY)
    client = worker_client(worker.address)
    # Such a task is not handed to it...
    nothing = client.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json")
    assert nothing.status_code == 200 and nothing.json()["work"] is None
    # ...and a replicate it holds anyway (handed out before the owner set its conditions) gets
    # no key.
    replicate = Replicate.objects.create(
        task=_run(),
        worker=worker.address,
        authorization="0x",
        lease_until=timezone.now() + datetime.timedelta(minutes=1),
    )

    refused = client.get(f"/api/v1/workers/replicates/{replicate.pk}/dataset-key/")

    assert refused.status_code == 403 and words in refused.json()["error"]
    assert not KeyRelease.objects.exists()


# ---------------------------------------------------------------------- giving up


def _failing(market, worker, reason: str, *, kind: str = "") -> Replicate:
    replicate = scheduler.replicate_assign(
        chain_id=CHAIN_ID, worker=worker.address, pool=market.workerpool
    )
    return replicate_fail(replicate=replicate, reason=reason, app_fault=True, kind=kind)


def _widen(run: TaskRun) -> None:
    TaskRun.objects.filter(pk=run.pk).update(replicates_wanted=8)


def test_three_wallets_that_are_not_members_cannot_give_a_task_up(bought, settings):
    settings.POOL_GIVE_UP_AFTER_FAILURES = 2
    market, _, _ = bought
    run = _run()
    _widen(run)
    strangers = [EthAccount.create() for _ in range(3)]
    for stranger in strangers:
        client = worker_client(stranger.address)
        assert (
            client.post("/api/v1/workers/work/", {"pool": market.workerpool}, "json").status_code
            == 403
        )
    # Nor can members who lost their standing, or were removed, with replicates they held.
    for stranger in strangers:
        PoolMember.objects.create(
            chain_id=CHAIN_ID,
            workerpool=market.workerpool,
            worker=stranger.address,
            status=MemberStatus.REMOVED,
            admitted_via=AdmittedVia.HAND,
        )
        replicate = Replicate.objects.create(
            task=run,
            worker=stranger.address,
            authorization="0x",
            lease_until=timezone.now() + datetime.timedelta(minutes=1),
        )
        replicate_fail(replicate=replicate, reason="out of fuel", app_fault=True)

    assert scheduler.runs_abandon(chain_id=CHAIN_ID) == 0
    assert TaskRun.objects.get(pk=run.pk).status == RunStatus.ACTIVE


def test_failure_reports_that_disagree_do_not_give_a_task_up(bought, settings):
    settings.POOL_GIVE_UP_AFTER_FAILURES = 2
    market, _, _ = bought
    run = _run()
    _widen(run)
    workers = market.workers
    _failing(market, workers[0], "The app did not finish: out of fuel (…).")
    _failing(market, workers[1], "The app did not finish: trap: unreachable.")
    assert scheduler.runs_abandon(chain_id=CHAIN_ID) == 0

    _failing(market, workers[2], "The app did not finish: out of fuel (…).")
    assert scheduler.runs_abandon(chain_id=CHAIN_ID) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.ABANDONED
    assert "the same way (out of fuel) on 2 workers" in run.failure


def _seizing_policy(market) -> None:
    membership.policy_set(
        chain_id=CHAIN_ID,
        workerpool=market.workerpool,
        actor=None,
        actor_wallet=market.scheduler.address,
        admission=Admission.BY_HAND,
        bond_min=0,
        score_min=0,
        seize_bond_on_contradiction=True,
    )


def _completed_by_others(run: TaskRun) -> None:
    """Another worker ran the task to a consensus: the chain completed it (in a confirmed
    block, as indexed)."""
    TaskRun.objects.filter(pk=run.pk).update(status=RunStatus.COMPLETED)
    Task.objects.filter(taskid=run.taskid).update(status="completed")


def test_a_contradicted_failure_report_costs_standing_and_the_bond_where_the_pool_says_so(
    bought, hub_deployment, settings
):
    settings.POOL_MEMBER_STRIKES = 1
    market, _, _ = bought
    hub, liar, pool = market.hub, market.workers[1], market.workerpool
    _seizing_policy(market)
    hub.bond_call(workerpool=pool, amount=5 * ECT).send(market.sender(liar))
    run = _run()
    _widen(run)
    _failing(market, liar, "The app did not finish: out of fuel.")
    _completed_by_others(run)
    kitty = hub.kitty()

    # The round judges the report once, then seizes the bond with the pool owner's key.
    result = lifecycle.scheduler_round(chain_id=CHAIN_ID, hub=hub)
    assert (result.strikes, result.seized) == (1, 1), result.problems
    again = lifecycle.scheduler_round(chain_id=CHAIN_ID, hub=hub)
    assert (again.strikes, again.seized) == (0, 0)

    member = PoolMember.objects.get(worker=liar.address)
    assert (member.strikes, member.seizure_due) == (1, "")
    assert hub.bond(workerpool=pool, worker=liar.address).amount == 0
    assert hub.kitty() == kitty + 5 * ECT
    decisions = {d.action: d.reason for d in MembershipDecision.objects.filter(member=member)}
    assert set(decisions) == {MembershipAction.BOND_SEIZED, MembershipAction.STRIKE}
    assert decisions[MembershipAction.BOND_SEIZED].startswith("5 ECT (transaction 0x")
    refused = worker_client(liar.address).post("/api/v1/workers/work/", {"pool": pool}, "json")
    assert refused.status_code == 403 and "standing" in refused.json()["error"]
    # Its failure reports no longer count towards giving a task up.
    assert liar.address not in membership.members_in_good_standing(
        chain_id=CHAIN_ID, workerpool=pool, workers=[liar.address]
    )
    # The operator can restore it.
    membership.member_decide(
        member=member, action="reinstated", actor=None, actor_wallet=market.scheduler.address
    )
    assert membership.member_standing(chain_id=CHAIN_ID, workerpool=pool, worker=liar.address).ok


def test_a_seizure_the_chain_refuses_is_sent_again_next_round(bought, settings, monkeypatch):
    settings.POOL_MEMBER_STRIKES = 1
    market, _, _ = bought
    hub, liar, pool = market.hub, market.workers[1], market.workerpool
    _seizing_policy(market)
    hub.bond_call(workerpool=pool, amount=5 * ECT).send(market.sender(liar))
    run = _run()
    _widen(run)
    _failing(market, liar, "The app did not finish: trap: unreachable.")
    _completed_by_others(run)
    scheduler.runs_judge(chain_id=CHAIN_ID)
    # The site's key for the pool is not its owner's any more: the chain refuses the seizure.
    wrong = dict.fromkeys(scheduler.operated_pools(chain_id=CHAIN_ID), market.other_scheduler)
    with monkeypatch.context() as patched:
        patched.setattr(scheduler, "operated_pools", lambda *, chain_id: wrong)
        seized, problems = scheduler.bonds_seize(chain_id=CHAIN_ID, hub=hub)
    assert seized == 0 and "Only the owner" in problems[0]
    assert PoolMember.objects.get(worker=liar.address).seizure_due
    assert hub.bond(workerpool=pool, worker=liar.address).amount == 5 * ECT

    assert scheduler.bonds_seize(chain_id=CHAIN_ID, hub=hub) == (1, [])
    assert hub.bond(workerpool=pool, worker=liar.address).amount == 0
    assert not PoolMember.objects.get(worker=liar.address).seizure_due


def test_running_out_of_time_or_a_refused_download_costs_no_standing(bought):
    market, _, _ = bought
    run = _run()
    _widen(run)
    _failing(market, market.workers[0], "The app did not finish: out of time (300 s).")
    _failing(market, market.workers[1], "Refused to download http://10.0.0.1/x: private.")
    _completed_by_others(run)

    assert scheduler.runs_judge(chain_id=CHAIN_ID) == 0
    assert set(PoolMember.objects.values_list("strikes", flat=True)) == {0}


def test_a_member_giving_notice_on_its_bond_gets_no_more_work(bought, hub_deployment):
    market, _, _ = bought
    worker, pool = market.workers[0], market.workerpool  # admitted by hand
    market.hub.bond_call(workerpool=pool, amount=ECT).send(market.sender(worker))
    market.hub.request_unbond_call(workerpool=pool).send(market.sender(worker))
    index_to_head(hub_deployment)

    refused = _work(worker.address, pool)

    assert refused.status_code == 403 and "gave notice on your bond" in refused.json()["error"]


def test_a_task_is_not_handed_to_a_member_its_datasets_owner_refuses(bought):
    market, _, dataset = bought
    dataset.key_hand_admitted_only = True
    dataset.save()
    PoolMember.objects.filter(worker=market.workers[0].address).update(
        admitted_via=AdmittedVia.POLICY
    )

    nothing = _work(market.workers[0].address, market.workerpool)

    assert nothing.status_code == 200 and nothing.json()["work"] is None
    assert _work(market.workers[1].address, market.workerpool).status_code == 201  # by hand


def test_asking_again_unchanged_writes_no_more_refusals(bought):
    market, _, _ = bought
    membership.policy_set(
        chain_id=CHAIN_ID,
        workerpool=market.workerpool,
        actor=None,
        actor_wallet="",
        admission=Admission.AUTOMATIC,
        bond_min=ECT,
        score_min=0,
        seize_bond_on_contradiction=False,
    )
    worker = EthAccount.create()
    client = worker_client(worker.address)
    for _ in range(3):
        answer = client.post(f"/api/v1/workers/pools/{market.workerpool}/apply/", {}, "json")
        assert answer.json()["status"] == "refused"
    assert MembershipDecision.objects.filter(action=MembershipAction.REFUSED).count() == 1


def test_a_new_member_holds_a_replicate_for_a_shorter_lease(bought, settings):
    settings.WORKER_LEASE_SECONDS = 60
    settings.WORKER_NEW_MEMBER_LEASE_SECONDS = 20
    market, _, _ = bought
    before = timezone.now()
    replicate = scheduler.replicate_assign(
        chain_id=CHAIN_ID, worker=market.workers[0].address, pool=market.workerpool
    )
    assert replicate.lease_until <= before + datetime.timedelta(seconds=21)
    assert scheduler.lease_for(replicate) == datetime.timedelta(seconds=20)
    settings.POOL_NEW_MEMBER_TASKS = 0  # nothing to prove: a member like any other
    _widen(_run())
    proven = scheduler.replicate_assign(
        chain_id=CHAIN_ID, worker=market.workers[1].address, pool=market.workerpool
    )
    assert scheduler.lease_for(proven) == datetime.timedelta(seconds=60)


def test_a_worker_reads_the_pools_terms_and_its_agent_locks_a_bond(
    bought, live_server, anvil, hub_deployment, tmp_path
):
    from worker.agent import Agent

    market, _, _ = bought
    hub, worker, pool = market.hub, market.accounts[9], market.workerpool
    client = worker_client(worker.address)
    terms = client.get(f"/api/v1/workers/pools/{pool}/").json()
    assert terms["owner"] == market.scheduler.address and terms["hub"] == hub.address
    assert (terms["admission"], terms["bond_min"], terms["membership"]) == ("hand", "0", None)
    assert client.get("/api/v1/workers/pools/0x12/").status_code == 400
    unknown = client.get(f"/api/v1/workers/pools/{market.app}/")
    assert unknown.status_code == 404 and "No pool" in unknown.json()["error"]

    hub.approve_call(amount=7 * ECT).send(market.sender(market.funder))
    hub.deposit_for_call(amount=7 * ECT, target=worker.address).send(market.sender(market.funder))
    stake = hub.account(worker.address).stake
    agent = Agent(
        site=live_server.url,
        account=worker,
        pool=pool,
        rpc_url=anvil.url,
        chain_id=CHAIN_ID,
        work_dir=tmp_path,
    )
    assert agent.bond(5 * ECT) == 5 * ECT
    assert agent.bond(5 * ECT) == 5 * ECT  # restarted with the same target: nothing more locked
    assert agent.bond(7 * ECT) == 7 * ECT
    assert hub.bond(workerpool=pool, worker=worker.address).amount == 7 * ECT
    assert hub.account(worker.address).stake == stake - 7 * ECT
    assert agent.join()["status"] == "requested"
    assert agent.terms()["membership"]["status"] == "requested"
