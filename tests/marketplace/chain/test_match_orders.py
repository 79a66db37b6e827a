"""matchOrders against the deployed Hub: every rule of PROTOCOL.md's checks 1 to 8, accepted and
refused. A refusal names its custom error and arguments, and the reverted transaction moves
nothing: no escrow changes, no volume is consumed. Also the sponsored variant, partial matches
across deals, and presigning / closing orders with manage*Order."""

from __future__ import annotations

import dataclasses

import pytest
from eth_utils import keccak

from marketplace.chain import artifacts
from marketplace.chain.ids import deal_id, task_id
from marketplace.chain.orders import (
    ZERO_ADDRESS,
    OrderOperation,
    sign_operation,
    tag_from_bits,
    tag_union,
)
from tests.chain_scaffold import (
    APP,
    APP_PRICE,
    CATEGORY_COUNT,
    CLOSED_EVENTS,
    DATASET,
    DATASET_PRICE,
    DEPOSIT,
    ECT,
    KINDS,
    NO_DATASET,
    REQUEST,
    SIGNED_EVENTS,
    WORKER_STAKE_RATIO,
    WORKERPOOL,
    WORKERPOOL_PRICE,
    open_market,
)
from tests.chain_scaffold import (
    XS_SECONDS as TIME_REF,
)

FULL_PRICE = APP_PRICE + DATASET_PRICE + WORKERPOOL_PRICE  # 6 ECT per task
POOL_STAKE = WORKERPOOL_PRICE * WORKER_STAKE_RATIO // 100  # 0.9 ECT per task
TEE = tag_from_bits([0])
TDX = tag_from_bits([3])
# An address no registry knows.
UNREGISTERED = "0x00000000000000000000000000000000DeaDBeef"


@pytest.fixture(scope="module")
def market(anvil, w3, hub_deployment, dev_accounts):
    with open_market(w3, hub_deployment, dev_accounts) as opened:
        yield opened


# ---------------------------------------------------------------------------- accepted


def test_match_creates_a_deal_locks_the_prices_and_consumes_every_order(chain, market):
    orders = market.orders()
    hub_balance = market.token.functions.balanceOf(market.hub.address).call()

    receipt = market.match(orders, by=market.stranger)

    digests = {kind: market.digest(order) for kind, order in zip(KINDS, orders.all(), strict=True)}
    dealid = deal_id(digests["request"], 0)
    assert market.events(receipt, "OrdersMatched") == [
        {
            "dealid": dealid,
            "appHash": digests["app"],
            "datasetHash": digests["dataset"],
            "workerpoolHash": digests["workerpool"],
            "requestHash": digests["request"],
            "volume": 1,
        }
    ]
    assert market.events(receipt, "SchedulerNotice") == [
        {"workerpool": market.workerpool, "dealid": dealid}
    ]
    assert [market.consumed(order) for order in orders.all()] == [1, 1, 1, 1]
    assert market.escrow(market.requester.address) == (DEPOSIT - FULL_PRICE, FULL_PRICE)
    assert market.escrow(market.pool_owner.address) == (DEPOSIT - POOL_STAKE, POOL_STAKE)
    # The sender pays nothing; owners are paid at finalize, not now; no ECT enters or leaves.
    assert market.escrow(market.stranger.address) == (0, 0)
    assert market.escrow(market.app_owner.address) == (0, 0)
    assert market.escrow(market.dataset_owner.address) == (0, 0)
    assert market.token.functions.balanceOf(market.hub.address).call() == hub_balance
    deal = market.hub.functions.viewDeal(dealid).call()
    assert deal == (
        market.workerpool,
        deal[1],  # startTime: the block's
        TIME_REF,
        1,  # schedulerRewardRatio of a new pool
        0,  # botFirst
        1,  # volume
        1,  # trust: max(request.trust, 1)
        market.pool_owner.address,
        POOL_STAKE,
        market.requester.address,  # payer
        WORKERPOOL_PRICE,
        market.app_owner.address,
        APP_PRICE,
        market.dataset_owner.address,
        DATASET_PRICE,
    )
    assert deal[1] == market.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    (created,) = market.events(receipt, "DealCreated")
    assert created["deal"]["params"] == orders.request.params
    assert created["deal"]["paramsHash"] == keccak(text=orders.request.params)


def test_match_without_dataset_takes_the_all_zero_dataset_order(chain, market):
    orders = market.orders(with_dataset=False)

    receipt = market.match(orders)

    (matched,) = market.events(receipt, "OrdersMatched")
    assert matched["datasetHash"] == bytes(32)
    locked = APP_PRICE + WORKERPOOL_PRICE
    assert market.escrow(market.requester.address) == (DEPOSIT - locked, locked)
    deal = market.hub.functions.viewDeal(matched["dealid"]).call()
    assert (deal[13], deal[14]) == (ZERO_ADDRESS, 0)  # datasetOwner, datasetPrice
    assert market.consumed(NO_DATASET) == 0


def test_sponsored_match_locks_the_price_from_the_sender_not_the_requester(chain, market):
    orders = market.orders()

    receipt = market.match(orders, by=market.sponsor, sponsored=True)

    (matched,) = market.events(receipt, "OrdersMatched")
    assert market.escrow(market.sponsor.address) == (DEPOSIT - FULL_PRICE, FULL_PRICE)
    assert market.escrow(market.requester.address) == (DEPOSIT, 0)
    assert market.escrow(market.pool_owner.address) == (DEPOSIT - POOL_STAKE, POOL_STAKE)
    assert market.hub.functions.viewDeal(matched["dealid"]).call()[9] == market.sponsor.address


def test_the_payer_locks_the_order_prices_not_its_max_prices(chain, market):
    orders = market.orders(
        appmaxprice=10 * ECT, datasetmaxprice=10 * ECT, workerpoolmaxprice=10 * ECT
    )

    market.match(orders)

    assert market.escrow(market.requester.address) == (DEPOSIT - FULL_PRICE, FULL_PRICE)


def test_request_is_matched_in_parts_with_dealids_from_its_consumed_volume(chain, market):
    orders = market.orders(volume=5)
    small_pool = market.workerpool_order(volume=2)
    request_digest = market.digest(orders.request)

    first = market.match(orders.replace(workerpool=small_pool))
    second = market.match(orders)

    first_deal, second_deal = deal_id(request_digest, 0), deal_id(request_digest, 2)
    assert [event["dealid"] for event in market.events(first, "OrdersMatched")] == [first_deal]
    assert [(e["dealid"], e["volume"]) for e in market.events(second, "OrdersMatched")] == [
        (second_deal, 3)
    ]
    assert market.consumed(orders.request) == 5
    assert market.consumed(orders.app) == 5
    assert market.consumed(orders.dataset) == 5
    assert (market.consumed(small_pool), market.consumed(orders.workerpool)) == (2, 3)
    assert market.escrow(market.requester.address) == (DEPOSIT - 5 * FULL_PRICE, 5 * FULL_PRICE)
    assert market.escrow(market.pool_owner.address) == (
        DEPOSIT - 5 * POOL_STAKE,
        5 * POOL_STAKE,
    )
    second_view = market.hub.functions.viewDeal(second_deal).call()
    assert (second_view[4], second_view[5]) == (2, 3)  # botFirst, volume


def test_tasks_of_a_partial_deal_are_its_request_indexes(chain, market):
    orders = market.orders(volume=5)
    market.match(orders.replace(workerpool=market.workerpool_order(volume=2)))
    market.match(orders)
    dealid = deal_id(market.digest(orders.request), 2)

    taskids = []
    for index in (2, 3, 4):
        receipt = market.send(
            market.stranger, market.hub.encode_abi("initialize", args=[dealid, index])
        )
        taskids += [event["taskid"] for event in market.events(receipt, "TaskInitialize")]

    assert taskids == [task_id(dealid, index) for index in (2, 3, 4)]
    for index in (1, 5):
        refusal = market.refused(
            lambda index=index: market.send(
                market.stranger, market.hub.encode_abi("initialize", args=[dealid, index])
            )
        )
        assert (refusal.name, refusal.arguments) == (
            "TaskIndexOutOfRange",
            {"dealid": dealid, "idx": index, "botFirst": 2, "volume": 3},
        )


@pytest.mark.parametrize("smallest", ["app", "dataset", "workerpool", "request"])
def test_deal_volume_is_the_smallest_remaining_volume(chain, market, smallest):
    orders = market.orders(volume=9)
    volumes = {"app": 9, "dataset": 9, "workerpool": 9, "request": 9, smallest: 4}
    orders = orders.replace(
        app=market.app_order(volume=volumes["app"]),
        dataset=market.dataset_order(volume=volumes["dataset"]),
        workerpool=market.workerpool_order(volume=volumes["workerpool"]),
        request=market.request_order(volume=volumes["request"]),
    )

    receipt = market.match(orders)

    assert [event["volume"] for event in market.events(receipt, "OrdersMatched")] == [4]
    assert [market.consumed(order) for order in orders.all()] == [4, 4, 4, 4]


def test_zero_restrictions_let_any_requester_match_the_same_asset_orders(chain, market):
    orders = market.orders()
    other_request = market.request_order(
        requester=market.sponsor.address, beneficiary=market.sponsor.address
    )

    market.match(orders)
    market.match(orders.replace(request=other_request))

    assert market.consumed(orders.app) == 2
    assert market.escrow(market.sponsor.address) == (DEPOSIT - FULL_PRICE, FULL_PRICE)


# ---------------------------------------------------------------------------- check 1: category


def test_request_of_another_category_than_the_pool_is_refused(chain, market):
    orders = market.orders(category=1)

    refusal = market.refused(lambda: market.match(orders), orders=orders.all())

    assert (refusal.name, refusal.arguments) == (
        "CategoryMismatch",
        {"requestCategory": 1, "workerpoolCategory": 0},
    )
    assert str(refusal) == (
        "Your request is for category 1 but the workerpool order is for category 0: pick a "
        "workerpool order of category 1."
    )


def test_unknown_category_is_refused_even_when_both_orders_agree(chain, market):
    orders = market.orders(category=CATEGORY_COUNT)
    orders = orders.replace(workerpool=market.workerpool_order(category=CATEGORY_COUNT))

    refusal = market.refused(lambda: market.match(orders), orders=orders.all())

    assert (refusal.name, refusal.arguments) == (
        "UnknownCategory",
        {"category": CATEGORY_COUNT, "count": CATEGORY_COUNT},
    )


# ---------------------------------------------------------------------------- check 2: trust


def test_request_trust_above_the_pools_is_refused(chain, market):
    orders = market.orders(trust=5)
    orders = orders.replace(workerpool=market.workerpool_order(trust=4))

    refusal = market.refused(lambda: market.match(orders), orders=orders.all())

    assert (refusal.name, refusal.arguments) == (
        "TrustTooHigh",
        {"requestTrust": 5, "workerpoolTrust": 4},
    )


def test_request_trust_equal_to_the_pools_is_accepted(chain, market):
    orders = market.orders(trust=4)
    orders = orders.replace(workerpool=market.workerpool_order(trust=4))

    receipt = market.match(orders)

    (created,) = market.events(receipt, "DealCreated")
    assert created["deal"]["trust"] == 4


# ---------------------------------------------------------------------------- check 3: prices


@pytest.mark.parametrize(
    ("asset", "max_field", "price"),
    [
        (APP, "appmaxprice", APP_PRICE),
        (DATASET, "datasetmaxprice", DATASET_PRICE),
        (WORKERPOOL, "workerpoolmaxprice", WORKERPOOL_PRICE),
    ],
)
def test_price_above_the_request_max_price_is_refused(chain, market, asset, max_field, price):
    orders = market.orders(**{max_field: price - 1})

    refusal = market.refused(lambda: market.match(orders), orders=orders.all())

    assert (refusal.name, refusal.arguments) == (
        "PriceTooHigh",
        {"asset": asset, "price": price, "maxPrice": price - 1},
    )


def test_price_refusal_says_both_amounts_in_ect(chain, market):
    orders = market.orders(appmaxprice=1_500_000_000)

    refusal = market.refused(lambda: market.match(orders), orders=orders.all())

    assert str(refusal) == (
        "The app costs 2 ECT but your request allows at most 1.5 ECT: raise your app max price "
        "or pick a cheaper app order."
    )


# ---------------------------------------------------------------------------- check 4: tags


@pytest.mark.parametrize("kind", ["app", "dataset", "request"])
@pytest.mark.parametrize(("bit", "tag"), [("TEE", TEE), ("TDX", TDX)])
def test_tag_bit_the_pool_does_not_offer_is_refused(chain, market, kind, bit, tag):
    orders = market.orders().replace(**{kind: market.order(kind, tag=tag)})

    refusal = market.refused(lambda: market.match(orders), orders=orders.all())

    assert (refusal.name, refusal.arguments) == ("TagNotOffered", {"missingBits": tag})
    assert f"needs tag bits {bit} that the pool does not offer" in str(refusal)


def test_missing_bits_are_those_of_every_order_the_pool_lacks(chain, market):
    orders = market.orders(tag=tag_from_bits([0, 1]))
    orders = orders.replace(
        app=market.app_order(tag=tag_from_bits([3])),
        workerpool=market.workerpool_order(tag=tag_from_bits([1, 2])),
    )

    refusal = market.refused(lambda: market.match(orders), orders=orders.all())

    assert (refusal.name, refusal.arguments) == (
        "TagNotOffered",
        {"missingBits": tag_from_bits([0, 3])},
    )
    assert str(refusal) == (
        "The request needs tag bits TEE, TDX that the pool does not offer (the app, dataset and "
        "request tags add up): pick a workerpool order whose tag offers them; no SuperEdge pool "
        "offers TEE or TDX, so drop those bits instead."
    )


def test_tags_covered_by_the_pool_are_accepted_and_the_deal_has_their_union(chain, market):
    orders = market.orders(tag=tag_from_bits([2]))
    orders = orders.replace(
        app=market.app_order(tag=tag_from_bits([1])),
        workerpool=market.workerpool_order(tag=tag_from_bits([1, 2, 5])),
    )

    receipt = market.match(orders)

    (created,) = market.events(receipt, "DealCreated")
    assert created["deal"]["tag"] == tag_union(tag_from_bits([1]), tag_from_bits([2]))


def test_tee_and_tdx_orders_are_signed_and_matched_by_the_hub_like_any_tag(chain, market):
    # Only our pools never offer TEE or TDX; the Hub itself accepts the bits in every order.
    tee_tdx = tag_from_bits([0, 3])
    orders = market.orders(tag=tee_tdx)
    orders = orders.replace(
        app=market.app_order(tag=TEE),
        dataset=market.dataset_order(tag=TDX),
        workerpool=market.workerpool_order(tag=tee_tdx),
    )

    receipt = market.match(orders)

    (created,) = market.events(receipt, "DealCreated")
    assert created["deal"]["tag"] == tee_tdx


# ---------------------------------------------------------------------------- check 5: assets


def test_request_for_another_app_than_the_app_order_is_refused(chain, market):
    orders = market.orders(app=UNREGISTERED)

    refusal = market.refused(lambda: market.match(orders), orders=orders.all())

    assert (refusal.name, refusal.arguments) == (
        "AssetMismatch",
        {"asset": APP, "requested": UNREGISTERED, "offered": market.app},
    )


def test_request_for_another_dataset_than_the_dataset_order_is_refused(chain, market):
    orders = market.orders(dataset=UNREGISTERED)

    refusal = market.refused(lambda: market.match(orders), orders=orders.all())

    assert (refusal.name, refusal.arguments) == (
        "AssetMismatch",
        {"asset": DATASET, "requested": UNREGISTERED, "offered": market.dataset},
    )


def test_request_naming_a_dataset_without_a_dataset_order_is_refused(chain, market):
    orders = market.orders().replace(dataset=NO_DATASET)

    refusal = market.refused(lambda: market.match(orders), orders=orders.all())

    assert (refusal.name, refusal.arguments) == (
        "AssetMismatch",
        {"asset": DATASET, "requested": market.dataset, "offered": ZERO_ADDRESS},
    )


# Each case sets one field of the dataset order of a deal without dataset, to a value the rest
# of the match accepts: before the rule, each of them matched, the tag case adding its bit to
# the deal although no dataset owner signed anything.
NON_EMPTY_DATASET_ORDERS = {
    "price": ({"datasetprice": DATASET_PRICE}, {"datasetmaxprice": DATASET_PRICE}),
    "volume": ({"volume": 1}, {}),
    "tag": ({"tag": tag_from_bits([1])}, {}),
    "app restriction": ({"apprestrict": "app"}, {}),
    "workerpool restriction": ({"workerpoolrestrict": "workerpool"}, {}),
    "requester restriction": ({"requesterrestrict": "requester"}, {}),
    "salt": ({"salt": keccak(text="salt")}, {}),
    "signature": ({}, {}),
}


@pytest.mark.parametrize("case", list(NON_EMPTY_DATASET_ORDERS))
def test_dataset_order_of_a_deal_without_dataset_must_be_all_zeros(chain, market, case):
    fields, requested = NON_EMPTY_DATASET_ORDERS[case]
    counterparts = {
        "app": market.app,
        "workerpool": market.workerpool,
        "requester": market.requester.address,
    }
    fields = {name: counterparts.get(value, value) for name, value in fields.items()}
    orders = market.orders(with_dataset=False, **requested).replace(
        dataset=dataclasses.replace(NO_DATASET, **fields),
        workerpool=market.workerpool_order(tag=tag_from_bits([1])),
    )
    signature = market.sign(NO_DATASET, market.dataset_owner) if case == "signature" else b""

    refusal = market.refused(
        lambda: market.match(orders, signatures={"dataset": signature}), orders=orders.all()
    )

    assert (refusal.name, refusal.arguments) == ("DatasetOrderNotEmpty", {})
    assert str(refusal) == (
        "Your request has no dataset, so the dataset order must be all zeros (no price, volume, "
        "tag, restriction, salt or signature): send the empty dataset order."
    )


def test_dataset_order_for_a_request_without_dataset_is_refused(chain, market):
    # A free dataset order, so that check 3 (its price) passes and check 5 is the one that fails.
    orders = market.orders(with_dataset=False)
    orders = orders.replace(dataset=market.dataset_order(datasetprice=0))

    refusal = market.refused(lambda: market.match(orders), orders=orders.all())

    assert (refusal.name, refusal.arguments) == (
        "AssetMismatch",
        {"asset": DATASET, "requested": ZERO_ADDRESS, "offered": market.dataset},
    )


# ---------------------------------------------------------------------------- check 6: restrictions

# (restricting order, its restriction field, restricted field code, counterpart in the deal)
RESTRICTIONS = [
    ("request", "workerpool", WORKERPOOL, "workerpool"),
    ("app", "datasetrestrict", DATASET, "dataset"),
    ("app", "workerpoolrestrict", WORKERPOOL, "workerpool"),
    ("app", "requesterrestrict", REQUEST, "requester"),
    ("dataset", "apprestrict", APP, "app"),
    ("dataset", "workerpoolrestrict", WORKERPOOL, "workerpool"),
    ("dataset", "requesterrestrict", REQUEST, "requester"),
    ("workerpool", "apprestrict", APP, "app"),
    ("workerpool", "datasetrestrict", DATASET, "dataset"),
    ("workerpool", "requesterrestrict", REQUEST, "requester"),
]


def _restricted(market, kind, field, value):
    return market.orders().replace(**{kind: market.order(kind, **{field: value})})


def _counterpart(market, name):
    return market.requester.address if name == "requester" else getattr(market, name)


@pytest.mark.parametrize(("kind", "field", "code", "counterpart"), RESTRICTIONS)
def test_restriction_to_another_counterpart_is_refused(
    chain, market, kind, field, code, counterpart
):
    other = market.stranger.address
    orders = _restricted(market, kind, field, other)

    refusal = market.refused(lambda: market.match(orders), orders=orders.all())

    assert (refusal.name, refusal.arguments) == (
        "RestrictionFailed",
        {
            "order": KINDS[kind],
            "field": code,
            "allowed": other,
            "actual": _counterpart(market, counterpart),
        },
    )


@pytest.mark.parametrize(("kind", "field", "code", "counterpart"), RESTRICTIONS)
def test_restriction_to_the_deals_counterpart_is_accepted(
    chain, market, kind, field, code, counterpart
):
    orders = _restricted(market, kind, field, _counterpart(market, counterpart))

    market.match(orders)

    assert [market.consumed(order) for order in orders.all()] == [1, 1, 1, 1]


def test_requester_restriction_tells_the_requester_who_may_match(chain, market):
    orders = _restricted(market, "workerpool", "requesterrestrict", market.sponsor.address)

    refusal = market.refused(lambda: market.match(orders), orders=orders.all())

    assert str(refusal) == (
        f"The workerpool order allows only requester {_short(market.sponsor.address)}; "
        f"you are {_short(market.requester.address)}."
    )


def test_dataset_restriction_refuses_a_deal_without_dataset(chain, market):
    orders = market.orders(with_dataset=False)
    orders = orders.replace(app=market.app_order(datasetrestrict=market.dataset))

    refusal = market.refused(lambda: market.match(orders), orders=orders.all())

    assert (refusal.name, refusal.arguments) == (
        "RestrictionFailed",
        {"order": APP, "field": DATASET, "allowed": market.dataset, "actual": ZERO_ADDRESS},
    )


def _short(address):
    return f"{address[:6]}…{address[-4:]}"


# ---------------------------------------------------------------------------- check 7: registry


# The request names the app and the dataset it runs (else it asks for another one than
# offered); the pool it leaves open.
@pytest.mark.parametrize(
    ("kind", "requested"),
    [("app", {"app": UNREGISTERED}), ("dataset", {"dataset": UNREGISTERED}), ("workerpool", {})],
    ids=["app", "dataset", "workerpool"],
)
def test_unregistered_asset_is_refused(chain, market, kind, requested):
    offered = market.order(kind, **{kind: UNREGISTERED})
    orders = market.orders(**requested).replace(**{kind: offered})

    refusal = market.refused(lambda: market.match(orders), orders=orders.all())

    assert (refusal.name, refusal.arguments) == (
        "AssetNotRegistered",
        {"asset": KINDS[kind], "addr": UNREGISTERED},
    )


# ---------------------------------------------------------------------------- check 7: signatures


def _signature_by(market, kind, orders, how):
    order = orders.of(kind)
    if how == "stranger":
        return market.sign(order, market.stranger)
    if how == "other order":
        return market.sign(market.orders().of(kind))
    return b""


def _signer(market, kind):
    return {
        "app": market.app_owner,
        "dataset": market.dataset_owner,
        "workerpool": market.pool_owner,
        "request": market.requester,
    }[kind].address


@pytest.mark.parametrize("how", ["stranger", "other order", "empty"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_order_not_signed_by_its_owner_is_refused(chain, market, kind, how):
    orders = market.orders()
    signature = _signature_by(market, kind, orders, how)

    refusal = market.refused(
        lambda: market.match(orders, signatures={kind: signature}), orders=orders.all()
    )

    assert (refusal.name, refusal.arguments) == (
        "InvalidSignature",
        {
            "order": KINDS[kind],
            "digest": market.digest(orders.of(kind)),
            "signer": _signer(market, kind),
        },
    )


def test_app_order_signed_by_a_former_owner_is_refused(chain, market):
    orders = market.orders()
    signature = market.sign(orders.app)
    registry = market.w3.eth.contract(
        address=market.deployment.app_registry, abi=artifacts.abi("AppRegistry")
    )
    market.send(
        market.app_owner,
        registry.encode_abi(
            "transferFrom",
            args=[market.app_owner.address, market.stranger.address, int(market.app, 16)],
        ),
        to=registry.address,
    )

    refusal = market.refused(
        lambda: market.match(orders, signatures={"app": signature}), orders=orders.all()
    )

    assert (refusal.name, refusal.arguments) == (
        "InvalidSignature",
        {"order": APP, "digest": market.digest(orders.app), "signer": market.stranger.address},
    )


# ---------------------------------------------------------------------------- check 8: volume


@pytest.mark.parametrize("kind", list(KINDS))
def test_order_used_up_by_an_earlier_deal_is_refused(chain, market, kind):
    first = market.orders(volume=5)
    exhausted = market.order(kind, volume=1)
    first = first.replace(**{kind: exhausted})
    market.match(first)
    # Fresh orders for everything else: only `kind` has nothing left.
    second = market.orders(volume=5).replace(**{kind: exhausted})

    refusal = market.refused(lambda: market.match(second), orders=second.all())

    assert (refusal.name, refusal.arguments) == (
        "OrderExhausted",
        {"order": KINDS[kind], "digest": market.digest(exhausted)},
    )


@pytest.mark.parametrize("kind", list(KINDS))
def test_order_closed_by_its_owner_is_refused(chain, market, kind):
    orders = market.orders()
    closed = orders.of(kind)

    receipt = market.manage(closed, OrderOperation.CLOSE)

    assert market.events(receipt, CLOSED_EVENTS[type(closed)]) == [
        {f"{kind}Hash": market.digest(closed)}
    ]
    assert market.consumed(closed) == closed.volume
    refusal = market.refused(lambda: market.match(orders), orders=orders.all())
    assert (refusal.name, refusal.arguments) == (
        "OrderExhausted",
        {"order": KINDS[kind], "digest": market.digest(closed)},
    )


# ---------------------------------------------------------------------------- escrow


def test_requester_without_enough_stake_is_refused(chain, market):
    orders = market.orders(volume=20)

    refusal = market.refused(lambda: market.match(orders), orders=orders.all())

    assert (refusal.name, refusal.arguments) == (
        "InsufficientStake",
        {"account": market.requester.address, "stake": DEPOSIT, "needed": 20 * FULL_PRICE},
    )
    assert str(refusal) == (
        f"The escrow of {_short(market.requester.address)} holds 100 ECT free; 120 ECT are "
        "needed — deposit 20 ECT first."
    )


def test_pool_owner_without_enough_stake_is_refused_and_the_payer_keeps_its_stake(chain, market):
    market.send(market.pool_owner, market.hub.encode_abi("withdraw", args=[DEPOSIT - ECT // 2]))
    orders = market.orders()

    refusal = market.refused(lambda: market.match(orders), orders=orders.all())

    assert (refusal.name, refusal.arguments) == (
        "InsufficientStake",
        {"account": market.pool_owner.address, "stake": ECT // 2, "needed": POOL_STAKE},
    )
    assert str(refusal) == (
        f"The escrow of {_short(market.pool_owner.address)} holds 0.5 ECT free; 0.9 ECT are "
        "needed — deposit 0.4 ECT first."
    )
    assert market.escrow(market.requester.address) == (DEPOSIT, 0)


def test_sponsor_without_stake_is_refused_even_when_the_requester_has_some(chain, market):
    orders = market.orders()

    refusal = market.refused(
        lambda: market.match(orders, by=market.stranger, sponsored=True), orders=orders.all()
    )

    assert (refusal.name, refusal.arguments) == (
        "InsufficientStake",
        {"account": market.stranger.address, "stake": 0, "needed": FULL_PRICE},
    )


# ---------------------------------------------------------------------------- presign and close


@pytest.mark.parametrize("kind", list(KINDS))
def test_presigned_order_matches_with_an_empty_signature(chain, market, kind):
    orders = market.orders()
    presigned = orders.of(kind)

    receipt = market.manage(presigned, OrderOperation.SIGN)

    digest = market.digest(presigned)
    assert market.events(receipt, SIGNED_EVENTS[type(presigned)]) == [{f"{kind}Hash": digest}]
    assert market.hub.functions.viewPresigned(digest).call() == _signer(market, kind)
    assert market.consumed(presigned) == 0
    market.match(orders, signatures={kind: b""})
    assert market.consumed(presigned) == 1


@pytest.mark.parametrize("kind", list(KINDS))
def test_presigning_says_who_presigned_beside_pocos_event(chain, market, kind):
    order = market.orders().of(kind)
    owner = market.owner_of(order)
    signature = sign_operation(order, OrderOperation.SIGN, market.domain, owner.key)

    receipt = market.manage(order, OrderOperation.SIGN, by=market.stranger, sign=signature)

    digest = market.digest(order)
    assert market.events(receipt, SIGNED_EVENTS[type(order)]) == [{f"{kind}Hash": digest}]
    assert market.events(receipt, "OrderPresigned") == [
        {"digest": digest, "signer": owner.address, "order": KINDS[kind]}
    ]
    assert market.events(market.manage(order, OrderOperation.CLOSE), "OrderPresigned") == []


def test_four_presigned_orders_match_without_any_signature(chain, market):
    orders = market.orders()
    for order in orders.all():
        market.manage(order, OrderOperation.SIGN)

    market.match(orders, signatures=dict.fromkeys(KINDS, b""))

    assert [market.consumed(order) for order in orders.all()] == [1, 1, 1, 1]


@pytest.mark.parametrize("operation", list(OrderOperation))
@pytest.mark.parametrize("kind", list(KINDS))
def test_manage_order_by_someone_else_without_the_owners_signature_is_refused(
    chain, market, kind, operation
):
    order = market.orders().of(kind)
    digest = market.digest(order)

    refusal = market.refused(
        lambda: market.manage(order, operation, by=market.stranger), orders=[order]
    )

    assert (refusal.name, refusal.arguments) == (
        "UnauthorizedOperation",
        {"order": KINDS[kind], "owner": _signer(market, kind), "caller": market.stranger.address},
    )
    assert market.hub.functions.viewPresigned(digest).call() == ZERO_ADDRESS


@pytest.mark.parametrize(
    ("signed", "sent"),
    [
        (OrderOperation.SIGN, OrderOperation.CLOSE),
        (OrderOperation.CLOSE, OrderOperation.SIGN),
    ],
)
def test_owners_signature_of_the_other_operation_is_refused(chain, market, signed, sent):
    order = market.orders().request
    signature = sign_operation(order, signed, market.domain, market.requester.key)

    refusal = market.refused(
        lambda: market.manage(order, sent, by=market.stranger, sign=signature), orders=[order]
    )

    assert (refusal.name, refusal.arguments) == (
        "UnauthorizedOperation",
        {"order": REQUEST, "owner": market.requester.address, "caller": market.stranger.address},
    )


@pytest.mark.parametrize("kind", list(KINDS))
def test_anyone_presigns_with_the_owners_operation_signature(chain, market, kind):
    orders = market.orders()
    order = orders.of(kind)
    owner = market.owner_of(order)
    signature = sign_operation(order, OrderOperation.SIGN, market.domain, owner.key)

    market.manage(order, OrderOperation.SIGN, by=market.stranger, sign=signature)

    assert market.hub.functions.viewPresigned(market.digest(order)).call() == owner.address
    market.match(orders, signatures={kind: b""})
    assert market.consumed(order) == 1


@pytest.mark.parametrize("kind", list(KINDS))
def test_anyone_closes_with_the_owners_operation_signature(chain, market, kind):
    orders = market.orders()
    order = orders.of(kind)
    owner = market.owner_of(order)
    signature = sign_operation(order, OrderOperation.CLOSE, market.domain, owner.key)

    market.manage(order, OrderOperation.CLOSE, by=market.stranger, sign=signature)

    assert market.consumed(order) == order.volume
    refusal = market.refused(lambda: market.match(orders), orders=orders.all())
    assert refusal.name == "OrderExhausted"


def test_managing_an_order_of_an_unregistered_app_is_refused(chain, market):
    order = market.app_order(app=UNREGISTERED)

    refusal = market.refused(lambda: market.manage(order, OrderOperation.SIGN), orders=[order])

    assert (refusal.name, refusal.arguments) == (
        "AssetNotRegistered",
        {"asset": APP, "addr": UNREGISTERED},
    )
