"""A pool's Members page (/pools/<slug>/members/): its admission policy for everyone to read;
for its owner (signed in with the pool's wallet) the policy form, invitations, requests to
approve or refuse, members to remove or restore, and the history of every decision; for other
signed-in users, where their wallets stand and a form to ask to join."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from eth_utils import to_checksum_address

from marketplace.accounts.selectors import wallet_list
from marketplace.catalogue import selectors as catalogue_selectors
from marketplace.catalogue.models import Listing, Market
from marketplace.chain.amounts import ECT_DECIMALS, from_units
from marketplace.errors import AppError, form_error
from marketplace.notfound import NotFound
from pools import membership
from pools.forms import ApplyForm, DecisionForm, InviteForm, PolicyForm
from pools.models import MemberStatus, PoolMember

HISTORY_PAGE = 30


def _pool_listing(request: HttpRequest, slug: str) -> Listing:
    listing = catalogue_selectors.listing_detail(kind=Market.POOL, slug=slug)
    if listing is None or not catalogue_selectors.listing_visible_to(
        listing=listing, user=request.user
    ):
        raise NotFound("No such pool, or it is not published.")
    return listing


def _operator(request: HttpRequest, pool: str) -> str | None:
    try:
        return membership.operator_wallet(
            user=request.user, chain_id=settings.CHAIN_ID, workerpool=pool
        )
    except membership.MembershipError:
        return None


@require_http_methods(["GET", "POST"])
def pool_members(request: HttpRequest, slug: str) -> HttpResponse:
    listing = _pool_listing(request, slug)
    pool = listing.chain_address
    if not pool:
        return render(request, "pools/members.html", {"listing": listing, "registered": False})
    operator = _operator(request, pool)
    wallets = (
        [w.address for w in wallet_list(user=request.user)] if request.user.is_authenticated else []
    )
    if request.method == "POST":
        return _act(request, listing, operator, wallets)
    policy = membership.policy_for(chain_id=settings.CHAIN_ID, workerpool=pool)
    members = membership.member_list(chain_id=settings.CHAIN_ID, workerpool=pool)
    context = {
        "listing": listing,
        "registered": True,
        "pool": pool,
        "policy": policy,
        "operator": operator,
        "active_count": members.filter(status=MemberStatus.ACTIVE).count(),
        "mine": _with_standing(
            pool,
            PoolMember.objects.filter(
                chain_id=settings.CHAIN_ID, workerpool=pool, worker__in=wallets
            ),
        ),
        "apply_form": ApplyForm(wallets=wallets) if wallets else None,
        "strikes_allowed": membership.strikes_allowed(),
    }
    if operator:
        history = Paginator(
            membership.decision_list(chain_id=settings.CHAIN_ID, workerpool=pool), HISTORY_PAGE
        ).get_page(request.GET.get("page"))
        context |= {
            "requests": members.filter(status=MemberStatus.REQUESTED),
            "members": _with_standing(pool, members.filter(status=MemberStatus.ACTIVE)),
            "former": members.filter(status__in=(MemberStatus.REMOVED, MemberStatus.REFUSED))[:50],
            "history": history,
            "policy_form": PolicyForm(
                initial={
                    "admission": policy.admission,
                    "bond_min": from_units(int(policy.bond_min), decimals=ECT_DECIMALS),
                    "score_min": policy.score_min,
                    "seize_bond_on_contradiction": policy.seize_bond_on_contradiction,
                }
            ),
            "invite_form": InviteForm(),
        }
    return render(request, "pools/members.html", context)


def _with_standing(pool: str, members) -> list[tuple[PoolMember, membership.Standing]]:
    members = list(members)
    found = membership.standings(chain_id=settings.CHAIN_ID, workerpool=pool, members=members)
    return [(member, found[member.worker]) for member in members]


def _act(
    request: HttpRequest, listing: Listing, operator: str | None, wallets: list[str]
) -> HttpResponse:
    """One POSTed action, then back to the page (its message says what happened)."""
    pool, action = listing.chain_address, request.POST.get("do", "")
    back = redirect("pool_members", slug=listing.slug)
    if not request.user.is_authenticated:
        messages.error(request, "Sign in first.")
        return back
    if action != "apply" and operator is None:
        messages.error(
            request,
            "Only the pool's owner decides who works for it: sign in with the wallet that owns "
            "it on chain.",
        )
        return back
    act = _ACTIONS.get(action)
    if act is None:
        messages.error(request, "Unknown action.")
        return back
    try:
        said = act(request, pool, operator, wallets)
    except (membership.MembershipError, AppError) as error:
        messages.error(request, str(error))
        return back
    messages.success(request, said)
    return back


# Each action returns what to tell the user, or raises MembershipError (or, for a form filled
# in wrong, AppError) saying what went wrong.


def _policy(request, pool: str, operator: str, wallets) -> str:
    form = PolicyForm(request.POST)
    if not form.is_valid():
        raise form_error(form)
    membership.policy_set(
        chain_id=settings.CHAIN_ID,
        workerpool=pool,
        actor=request.user,
        actor_wallet=operator,
        admission=form.cleaned_data["admission"],
        bond_min=form.bond_units(),
        score_min=form.cleaned_data["score_min"],
        seize_bond_on_contradiction=form.cleaned_data["seize_bond_on_contradiction"],
    )
    return "The admission policy is saved."


def _invite(request, pool: str, operator: str, wallets) -> str:
    form = InviteForm(request.POST)
    if not form.is_valid():
        raise form_error(form)
    worker = to_checksum_address(form.cleaned_data["worker"])
    membership.member_invite(
        chain_id=settings.CHAIN_ID,
        workerpool=pool,
        worker=worker,
        actor=request.user,
        actor_wallet=operator,
        reason=form.cleaned_data["reason"],
    )
    return f"{worker} is a member: it gets work as soon as it asks."


def _decide(request, pool: str, operator: str, wallets) -> str:
    form = DecisionForm(request.POST)
    if not form.is_valid():
        raise form_error(form)
    member = PoolMember.objects.filter(
        pk=form.cleaned_data["member"], chain_id=settings.CHAIN_ID, workerpool=pool
    ).first()
    if member is None:
        raise membership.MembershipError("No such member of this pool.")
    member = membership.member_decide(
        member=member,
        action=form.cleaned_data["action"],
        actor=request.user,
        actor_wallet=operator,
        reason=form.cleaned_data["reason"],
    )
    return f"{member.worker}: {member.get_status_display().lower()}."


def _apply(request, pool: str, operator, wallets: list[str]) -> str:
    form = ApplyForm(request.POST, wallets=wallets)
    if not form.is_valid():
        raise form_error(form)
    member = membership.member_request(
        chain_id=settings.CHAIN_ID,
        workerpool=pool,
        worker=form.cleaned_data["wallet"],
        note=form.cleaned_data["note"],
    )
    if member.status == MemberStatus.ACTIVE:
        return f"{member.worker} is a member of this pool: run your agent with --pool {pool}."
    if member.status == MemberStatus.REFUSED:
        last = member.decisions.first()
        raise membership.MembershipError(f"Refused. {last.reason if last else ''}".strip())
    return f"{member.worker} asked to join: the operator decides."


_ACTIONS = {"policy": _policy, "invite": _invite, "decide": _decide, "apply": _apply}
