"""What the tests of standing requests share: a book with an app offer and no pool offer yet,
the requester's signed request, and a matcher round sending from a dev account no party to the
deals."""

from __future__ import annotations

from django.conf import settings

from marketplace.catalogue.models import CurationStatus, Listing
from marketplace.chain.orders import AppOrder, RequestOrder, WorkerpoolOrder, sign_order, typed_data
from marketplace.chain.selectors import current_hub
from marketplace.orders import standing
from marketplace.orders.models import Order
from marketplace.orders.services import order_publish
from tests.chain_scaffold import ECT
from tests.pools.members import admit

PARAMS = '{"args":"--width 64 input.svg out.png"}'


def publish(market, order, key) -> Order:
    kind = {AppOrder: "app", WorkerpoolOrder: "workerpool"}[type(order)]
    return order_publish(
        kind=kind,
        order=typed_data(order, market.domain)["message"],
        signature="0x" + sign_order(order, market.domain, key).hex(),
    )


def open_book(market):
    """An app order at 1 ECT, no pool offer yet; the pool's four workers are its members."""
    admit(market.workerpool, market.workers)
    publish(market, AppOrder(app=market.app, appprice=ECT, volume=50), market.app_owner.key)
    return market


def list_publicly(market):
    """The market's app, dataset and pool approved in the catalogue (the index listed them
    pending review), so that a buyer can choose them by name."""
    Listing.objects.filter(
        chain_address__in=[market.app, market.dataset, market.workerpool]
    ).update(is_public=True, status=CurationStatus.APPROVED)
    return market


def pool_offer(market, *, price: int = 3, trust: int = 1, volume: int = 50) -> Order:
    offer = WorkerpoolOrder(
        workerpool=market.workerpool,
        workerpoolprice=price * ECT,
        volume=volume,
        category=0,
        trust=trust,
    )
    return publish(market, offer, market.scheduler.key)


def signed(market, **fields) -> tuple[dict, str]:
    """A request of the market's requester (2 tasks of the app, at most 1 ECT for the app and
    3 ECT for a pool, trust 1), as the wallet signs it: (message, signature)."""
    request = RequestOrder(
        **{
            "app": market.app,
            "appmaxprice": ECT,
            "workerpoolmaxprice": 3 * ECT,
            "requester": market.requester.address,
            "beneficiary": market.requester.address,
            "volume": 2,
            "category": 0,
            "trust": 1,
            "params": PARAMS,
            **fields,
        }
    )
    signature = "0x" + sign_order(request, market.domain, market.requester.key).hex()
    return typed_data(request, market.domain)["message"], signature


def stand(market, user, *, requirements=None, preferences=None, expires_at=None, **fields):
    """Publish the requester's signed request (`fields` changed) as a standing request."""
    message, signature = signed(market, **fields)
    return standing.standing_publish(
        user=user,
        message=message,
        signature=signature,
        requirements=requirements or {},
        preferences=preferences or {},
        expires_at=expires_at,
    )


def match_round(market, *, now=None) -> standing.MatchRound:
    """One matcher round, sending from a dev account that is no party to the deals."""
    return standing.standing_match_round(
        chain_id=settings.CHAIN_ID,
        hub=current_hub(),
        sender=market.sender(market.other_scheduler),
        now=now,
    )


def sent_by_matcher(market) -> int:
    """How many transactions the matcher's account has sent."""
    return market.w3.eth.get_transaction_count(market.other_scheduler.address)
