"""Who works for a pool: its members, admitted by its operator's hand or by its admission
policy's conditions, and whether each is in good standing now.

A worker asks to join (`member_request`). A pool admitting by hand keeps the request for its
operator to approve or refuse; an automatic pool admits at once a worker meeting its conditions
(a bond locked in escrow for the pool, a minimum on-chain score) and refuses, saying what is
missing, one that does not. The operator may also invite a wallet (admitted at once), remove a
member (its live replicates go to other workers), and restore the standing of a member whose
failure reports were contradicted. Every change is a MembershipDecision: what, who, why, when.

Good standing (`standing`): an active member, with fewer strikes than POOL_MEMBER_STRIKES, and,
when admitted by the policy's conditions, still meeting them (its bond given no notice). Only
members in good standing get work, dataset keys, and have their failure reports counted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from marketplace.accounts.models import Wallet
from marketplace.catalogue.models import Market
from marketplace.chain.amounts import format_ect
from marketplace.chain.errors import ChainError, ContractsNotDeployed
from marketplace.chain.ids import OrderKind
from marketplace.chain.selectors import current_hub
from marketplace.errors import Conflict
from marketplace.indexer.models import Asset, Worker, WorkerBond
from marketplace.indexer.notify import progress_changed
from pools.models import (
    Admission,
    AdmittedVia,
    MembershipAction,
    MembershipDecision,
    MemberStatus,
    PoolMember,
    PoolPolicy,
    Replicate,
    ReplicateStatus,
)

DEFAULT_STRIKES = 2


class MembershipError(Conflict):
    """A membership rule refused the request; the message says what to do (409)."""


class NotAllowed(MembershipError):
    """Only the pool's operator may do this (403)."""

    status = 403
    code = "forbidden"


class UnknownPool(MembershipError):
    """No pool is registered at this address (404)."""

    status = 404
    code = "not_found"


class ChainAway(MembershipError):
    """The chain cannot be reached to check the pool: try again later (503)."""

    status = 503
    code = "unavailable"


def strikes_allowed() -> int:
    """Contradicted failure reports that cost a member its standing."""
    return max(1, getattr(settings, "POOL_MEMBER_STRIKES", DEFAULT_STRIKES))


def how_to_apply(workerpool: str) -> str:
    return (
        f"Ask to join with POST /api/v1/workers/pools/{workerpool}/apply/ (your worker token), "
        "or on the pool's Members page signed in with this wallet."
    )


# ---------------------------------------------------------------------- reads


def pool_asset(*, chain_id: int, workerpool: str) -> Asset | None:
    return Asset.objects.filter(chain_id=chain_id, kind=Market.POOL, address=workerpool).first()


def policy_for(*, chain_id: int, workerpool: str) -> PoolPolicy:
    """The pool's admission policy (the default, by hand and unsaved, when it set none)."""
    policy = PoolPolicy.objects.filter(chain_id=chain_id, workerpool=workerpool).first()
    return policy or PoolPolicy(chain_id=chain_id, workerpool=workerpool)


@dataclasses.dataclass(frozen=True)
class Standing:
    """Whether a worker may work for a pool now, and if not why (a sentence with what to do)."""

    ok: bool
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class Facts:
    """What the chain says of a worker, for a pool's conditions."""

    score: int
    bond: int
    bond_noticed: bool

    @classmethod
    def of(cls, *, chain_id: int, workerpool: str, worker: str) -> Facts:
        return facts_of(chain_id=chain_id, workerpool=workerpool, workers=[worker])[worker]


def facts_of(*, chain_id: int, workerpool: str, workers: Iterable[str]) -> dict[str, Facts]:
    """Score and bond of each of `workers` for `workerpool`, as indexed."""
    workers = set(workers)
    scores = dict(
        Worker.objects.filter(chain_id=chain_id, address__in=workers).values_list(
            "address", "score"
        )
    )
    bonds = {
        bond.worker: bond
        for bond in WorkerBond.objects.filter(
            chain_id=chain_id, workerpool=workerpool, worker__in=workers
        )
    }
    return {
        worker: Facts(
            score=scores.get(worker, 0),
            bond=int(bonds[worker].amount) if worker in bonds else 0,
            bond_noticed=worker in bonds and bonds[worker].unbond_at is not None,
        )
        for worker in workers
    }


def unmet_conditions(policy: PoolPolicy, facts: Facts) -> list[str]:
    """What the worker lacks of the policy's conditions, each with what to do; empty: none."""
    missing = []
    if policy.bond_min and facts.bond < int(policy.bond_min):
        missing.append(
            f"a bond of {format_ect(int(policy.bond_min))} for this pool (you keep "
            f"{format_ect(facts.bond)}: deposit ECT to your escrow, then send the Hub's "
            f"bond({policy.workerpool}, amount))"
        )
    elif policy.bond_min and facts.bond_noticed:
        missing.append(
            "a bond given no notice (you asked to take yours back: bond again to withdraw the "
            "notice)"
        )
    if policy.score_min and facts.score < policy.score_min:
        missing.append(
            f"an on-chain score of {policy.score_min} (yours is {facts.score}: it grows by one "
            "for each task you complete with other workers)"
        )
    return missing


def standing(member: PoolMember | None, policy: PoolPolicy, facts: Facts) -> Standing:
    """Whether `member` (None: not one) is in good standing under `policy`, given what the
    chain says of it (`facts`)."""
    pool = policy.workerpool
    if member is None or member.status == MemberStatus.REFUSED:
        return Standing(False, f"You are not a member of pool {pool}. {how_to_apply(pool)}")
    if member.status == MemberStatus.REQUESTED:
        return Standing(
            False, f"Your request to join pool {pool} waits for its operator's approval."
        )
    if member.status == MemberStatus.REMOVED:
        return Standing(False, f"The operator of pool {pool} removed you from it.")
    if member.strikes >= strikes_allowed():
        return Standing(
            False,
            f"Your standing in pool {pool} is lost: {member.strikes} of your failure reports "
            "were contradicted by other workers' success. Ask its operator to restore it.",
        )
    if facts.bond_noticed:
        # A bond on its way out protects nobody: a worker would report falsely, then unbond.
        return Standing(
            False,
            f"You gave notice on your bond for pool {pool}: a member taking its bond back gets "
            f"no more work. Bond again (the Hub's bond({pool}, amount)) to withdraw the notice.",
        )
    if member.admitted_via == AdmittedVia.POLICY:
        missing = unmet_conditions(policy, facts)
        if missing:
            return Standing(
                False,
                f"Pool {pool} admitted you by its conditions, which you no longer meet: it asks "
                + "; and ".join(missing)
                + ".",
            )
    return Standing(True)


def standings(
    *, chain_id: int, workerpool: str, members: Iterable[PoolMember]
) -> dict[str, Standing]:
    """The standing of each of `members` of `workerpool`, by worker (three queries in all)."""
    members = list(members)
    policy = policy_for(chain_id=chain_id, workerpool=workerpool)
    facts = facts_of(chain_id=chain_id, workerpool=workerpool, workers=[m.worker for m in members])
    return {m.worker: standing(m, policy, facts[m.worker]) for m in members}


def member_standing(*, chain_id: int, workerpool: str, worker: str, lock: bool = False) -> Standing:
    """Whether `worker` is a member of `workerpool` in good standing. `lock` holds its
    membership row until the caller's transaction ends, so that no decision about it (a
    removal, a strike) commits meanwhile."""
    members = PoolMember.objects.filter(chain_id=chain_id, workerpool=workerpool, worker=worker)
    member = (members.select_for_update() if lock else members).first()
    policy = policy_for(chain_id=chain_id, workerpool=workerpool)
    facts = Facts.of(chain_id=chain_id, workerpool=workerpool, worker=worker)
    return standing(member, policy, facts)


def pools_in_good_standing(
    *, chain_id: int, worker: str, pools: Iterable[str], lock: bool = False
) -> set[str]:
    """Those of `pools` where `worker` is a member in good standing (`lock`: as in
    member_standing)."""
    members = PoolMember.objects.filter(
        chain_id=chain_id, worker=worker, workerpool__in=list(pools), status=MemberStatus.ACTIVE
    )
    good = set()
    for member in members.select_for_update() if lock else members:
        verdict = standings(chain_id=chain_id, workerpool=member.workerpool, members=[member])
        if verdict[worker].ok:
            good.add(member.workerpool)
    return good


def members_in_good_standing(*, chain_id: int, workerpool: str, workers: Iterable[str]) -> set[str]:
    """Those of `workers` that are members of `workerpool` in good standing."""
    members = PoolMember.objects.filter(
        chain_id=chain_id,
        workerpool=workerpool,
        worker__in=set(workers),
        status=MemberStatus.ACTIVE,
    )
    found = standings(chain_id=chain_id, workerpool=workerpool, members=members)
    return {worker for worker, verdict in found.items() if verdict.ok}


def member_list(*, chain_id: int, workerpool: str):
    return PoolMember.objects.filter(chain_id=chain_id, workerpool=workerpool).order_by(
        "status", "-updated_at", "id"
    )


def decision_list(*, chain_id: int, workerpool: str):
    return MembershipDecision.objects.filter(
        chain_id=chain_id, workerpool=workerpool
    ).select_related("member", "decided_by")


# ---------------------------------------------------------------------- writes


def _decide(
    member: PoolMember | None,
    action: MembershipAction,
    *,
    chain_id: int,
    workerpool: str,
    actor=None,
    actor_wallet: str = "",
    reason: str = "",
) -> MembershipDecision:
    return MembershipDecision.objects.create(
        chain_id=chain_id,
        workerpool=workerpool,
        member=member,
        action=action,
        decided_by=actor,
        decided_by_wallet=actor_wallet,
        reason=reason.strip()[:300],
    )


def _member_for_update(*, chain_id: int, workerpool: str, worker: str) -> PoolMember:
    member, _ = PoolMember.objects.select_for_update().get_or_create(
        chain_id=chain_id, workerpool=workerpool, worker=worker
    )
    return member


def pool_owner(*, chain_id: int, workerpool: str) -> str | None:
    """The owner of the pool at `workerpool`: as indexed, else as the chain says (a pool
    registered a moment ago); None when no pool is registered there. ChainAway when the index
    does not know it and the node does not answer."""
    asset = pool_asset(chain_id=chain_id, workerpool=workerpool)
    if asset is not None:
        return asset.owner
    try:
        return current_hub().asset_owner(OrderKind.WORKERPOOL, workerpool)
    except ContractsNotDeployed:
        return None
    except ChainError as error:
        raise ChainAway(
            f"The chain cannot be reached to check pool {workerpool} ({error}): try again in a "
            "moment."
        ) from None


def _require_pool(*, chain_id: int, workerpool: str) -> str:
    """The pool's owner; UnknownPool when no pool is registered at `workerpool`."""
    owner = pool_owner(chain_id=chain_id, workerpool=workerpool)
    if owner is None:
        raise UnknownPool(
            f"No pool is registered at {workerpool} on this chain: check the address on the "
            "pool's page."
        )
    return owner


@transaction.atomic
def policy_set(
    *,
    chain_id: int,
    workerpool: str,
    actor,
    actor_wallet: str,
    admission: str,
    bond_min: int,
    score_min: int,
    seize_bond_on_contradiction: bool,
) -> PoolPolicy:
    """The operator sets the pool's admission policy (members admitted before keep their
    membership; those admitted by conditions must go on meeting the new ones)."""
    _require_pool(chain_id=chain_id, workerpool=workerpool)
    if admission not in Admission.values:
        raise MembershipError("Admission is 'hand' or 'automatic'.")
    if bond_min < 0 or score_min < 0:
        raise MembershipError("The bond and the score asked cannot be negative.")
    if admission == Admission.AUTOMATIC and not (bond_min or score_min):
        raise MembershipError(
            "Automatic admission needs a condition (a bond, a minimum score or both): without "
            "one, any wallet would work for the pool."
        )
    policy, _ = PoolPolicy.objects.select_for_update().get_or_create(
        chain_id=chain_id, workerpool=workerpool
    )
    policy.admission = admission
    policy.bond_min = Decimal(bond_min)
    policy.score_min = score_min
    policy.seize_bond_on_contradiction = seize_bond_on_contradiction
    policy.updated_by = actor
    policy.save()
    terms = [policy.get_admission_display().split(":")[0]]
    if bond_min:
        terms.append(f"bond {format_ect(bond_min)}")
    if score_min:
        terms.append(f"score {score_min}")
    if seize_bond_on_contradiction:
        terms.append("bonds seized on contradicted failure reports")
    _decide(
        None,
        MembershipAction.POLICY,
        chain_id=chain_id,
        workerpool=workerpool,
        actor=actor,
        actor_wallet=actor_wallet,
        reason=", ".join(terms),
    )
    return policy


@transaction.atomic
def member_request(*, chain_id: int, workerpool: str, worker: str, note: str = "") -> PoolMember:
    """`worker` asks to join `workerpool`: admitted or refused at once by an automatic policy,
    kept for the operator otherwise. A member asking again changes nothing."""
    _require_pool(chain_id=chain_id, workerpool=workerpool)
    member = _member_for_update(chain_id=chain_id, workerpool=workerpool, worker=worker)
    if member.status == MemberStatus.ACTIVE:
        return member
    if member.status == MemberStatus.REMOVED:
        raise MembershipError(
            f"The operator of pool {workerpool} removed you; only it can admit you again "
            "(an invitation)."
        )
    member.note = note.strip()[:300]
    policy = policy_for(chain_id=chain_id, workerpool=workerpool)
    context = {"chain_id": chain_id, "workerpool": workerpool}
    if policy.admission == Admission.AUTOMATIC:
        facts = Facts.of(chain_id=chain_id, workerpool=workerpool, worker=worker)
        missing = unmet_conditions(policy, facts)
        if missing:
            reason = ("The pool asks " + "; and ".join(missing) + ".")[:300]
            member.status = MemberStatus.REFUSED
            member.admitted_via = ""
            member.save()
            last = member.decisions.first()
            if last is None or (last.action, last.reason) != (MembershipAction.REFUSED, reason):
                # Asking again unchanged writes nothing more: refusals cannot flood the history.
                _decide(member, MembershipAction.REFUSED, **context, reason=reason)
            return member
        member.status, member.admitted_via, member.strikes = (
            MemberStatus.ACTIVE,
            AdmittedVia.POLICY,
            0,
        )
        member.save()
        _decide(
            member,
            MembershipAction.ADMITTED,
            **context,
            reason=f"score {facts.score}, bond {format_ect(facts.bond)}",
        )
        return member
    if member.status == MemberStatus.REQUESTED and member.pk and member.decisions.exists():
        member.save(update_fields=["note", "updated_at"])
        return member
    member.status, member.admitted_via = MemberStatus.REQUESTED, ""
    member.save()
    _decide(member, MembershipAction.REQUESTED, **context, reason=member.note)
    return member


# Operator decisions: (new status, statuses they apply to, reason required).
_DECISIONS: dict[MembershipAction, tuple[str, frozenset[str], bool]] = {
    MembershipAction.APPROVED: (
        MemberStatus.ACTIVE,
        frozenset({MemberStatus.REQUESTED}),
        False,
    ),
    MembershipAction.REFUSED: (
        MemberStatus.REFUSED,
        frozenset({MemberStatus.REQUESTED}),
        False,
    ),
    MembershipAction.REMOVED: (
        MemberStatus.REMOVED,
        frozenset({MemberStatus.ACTIVE, MemberStatus.REQUESTED}),
        True,
    ),
    MembershipAction.REINSTATED: (
        MemberStatus.ACTIVE,
        frozenset({MemberStatus.ACTIVE}),
        False,
    ),
}


def operator_wallet(*, user, chain_id: int, workerpool: str) -> str:
    """The wallet of `user` that owns `workerpool` on chain (NotAllowed if none does)."""
    owner = _require_pool(chain_id=chain_id, workerpool=workerpool)
    if user is not None and user.is_authenticated and user.wallets.filter(address=owner).exists():
        return owner
    raise NotAllowed(
        f"Only the pool's owner ({owner}) decides who works for it: sign in with that wallet."
    )


@transaction.atomic
def member_invite(
    *, chain_id: int, workerpool: str, worker: str, actor, actor_wallet: str, reason: str = ""
) -> PoolMember:
    """The operator admits `worker` by hand (also one it removed or refused before)."""
    _require_pool(chain_id=chain_id, workerpool=workerpool)
    member = _member_for_update(chain_id=chain_id, workerpool=workerpool, worker=worker)
    if member.status == MemberStatus.ACTIVE and member.admitted_via == AdmittedVia.HAND:
        return member
    member.status, member.admitted_via, member.strikes = MemberStatus.ACTIVE, AdmittedVia.HAND, 0
    member.save()
    _decide(
        member,
        MembershipAction.INVITED,
        chain_id=chain_id,
        workerpool=workerpool,
        actor=actor,
        actor_wallet=actor_wallet,
        reason=reason,
    )
    return member


@transaction.atomic
def member_decide(
    *, member: PoolMember, action: str, actor, actor_wallet: str, reason: str = ""
) -> PoolMember:
    """The operator approves or refuses a request, removes a member, or restores its standing;
    an illegal move is refused with a MembershipError. Removing a member hands its live
    replicates in the pool to other workers."""
    try:
        action = MembershipAction(action)
        to_status, sources, reason_required = _DECISIONS[action]
    except (ValueError, KeyError):
        raise MembershipError(
            "The decision is one of approved, refused, removed or reinstated."
        ) from None
    member = PoolMember.objects.select_for_update().get(pk=member.pk)
    if member.status not in sources:
        raise MembershipError(
            f"{member.worker} is {member.get_status_display().lower()}: it cannot be "
            f"{action.label.lower()}."
        )
    if action == MembershipAction.REINSTATED and not member.strikes:
        raise MembershipError(f"{member.worker} is in good standing already.")
    if reason_required and not reason.strip():
        raise MembershipError("Say why (the worker reads it).")
    member.status = to_status
    if action == MembershipAction.APPROVED:
        member.admitted_via = AdmittedVia.HAND
        member.strikes = 0
    elif action == MembershipAction.REINSTATED:
        member.strikes = 0
    member.save()
    _decide(
        member,
        action,
        chain_id=member.chain_id,
        workerpool=member.workerpool,
        actor=actor,
        actor_wallet=actor_wallet,
        reason=reason,
    )
    if action == MembershipAction.REMOVED:
        replicates_withdraw(
            chain_id=member.chain_id,
            workerpool=member.workerpool,
            worker=member.worker,
            reason="The worker was removed from the pool by its operator.",
        )
    return member


@transaction.atomic
def member_strike(*, member: PoolMember, reason: str) -> PoolMember:
    """A failure report of `member` was contradicted by another worker's success; at
    POOL_MEMBER_STRIKES it loses its standing, its running replicates go to others, and its
    bond is due to be seized when the pool's policy says so (the scheduler sends it)."""
    member = PoolMember.objects.select_for_update().get(pk=member.pk)
    member.strikes += 1
    member.save(update_fields=["strikes", "updated_at"])
    _decide(
        member,
        MembershipAction.STRIKE,
        chain_id=member.chain_id,
        workerpool=member.workerpool,
        reason=reason,
    )
    if member.strikes >= strikes_allowed():
        policy = policy_for(chain_id=member.chain_id, workerpool=member.workerpool)
        if policy.seize_bond_on_contradiction:
            member.seizure_due = f"Lost its standing: {reason}"[:300]
            member.save(update_fields=["seizure_due", "updated_at"])
        replicates_withdraw(
            chain_id=member.chain_id,
            workerpool=member.workerpool,
            worker=member.worker,
            reason="The worker lost its standing in the pool: its failure reports were "
            "contradicted by other workers' success.",
        )
    return member


def replicates_withdraw(*, chain_id: int, workerpool: str, worker: str, reason: str) -> int:
    """The live replicates of `worker` in `workerpool` that have not contributed yet expire:
    their places go to other workers. How many."""
    withdrawn = Replicate.objects.filter(
        task__chain_id=chain_id,
        task__workerpool=workerpool,
        worker=worker,
        status__in=(ReplicateStatus.ASSIGNED, ReplicateStatus.RUNNING, ReplicateStatus.UPLOADED),
    )
    dealids = set(withdrawn.values_list("task__dealid", flat=True))
    count = withdrawn.update(
        status=ReplicateStatus.EXPIRED, failure=reason[:300], updated_at=timezone.now()
    )
    for dealid in dealids:
        progress_changed(dealid)
    return count


def bond_seized(*, member: PoolMember, amount: int, tx_hash: str) -> None:
    """The pool's seizure of `member`'s bond landed (`amount`: 0 when nothing was left)."""
    reason = member.seizure_due
    PoolMember.objects.filter(pk=member.pk).update(seizure_due="", updated_at=timezone.now())
    _decide(
        member,
        MembershipAction.BOND_SEIZED,
        chain_id=member.chain_id,
        workerpool=member.workerpool,
        reason=(
            f"{format_ect(amount)} (transaction {tx_hash}). {reason}"
            if amount
            else f"Nothing left to seize. {reason}"
        ),
    )


def buyer_wallets(addresses: Iterable[str]) -> set[str]:
    """`addresses` and every wallet linked to the same users: a buyer's other wallets are the
    buyer too."""
    addresses = {a for a in addresses if a}
    users = Wallet.objects.filter(address__in=addresses).values("user")
    return addresses | set(
        Wallet.objects.filter(Q(user__in=users)).values_list("address", flat=True)
    )
