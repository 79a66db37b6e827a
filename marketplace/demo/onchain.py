"""The demo catalogue on the development chain: every demo listing registered as its owner's
asset, and a first deal (the SVG renderer on the poster drawing, in the Lyon pool) of three
tasks, two of them run to completion here, so that listing pages show on-chain records from the
start; the third is left in the deal for the pool's scheduler and worker agents to run. The
demo's raters then buy one-task runs of what they rate, and rate it once the index has them:
every demo rating is a verified buyer's.

Development chain only: the owners are anvil's public dev accounts, whose keys sign the orders.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from marketplace.accounts.models import Wallet
from marketplace.accounts.services import user_for_wallet
from marketplace.catalogue import selectors, services
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Listing, Market, Rating, TaskCategory
from marketplace.catalogue.registration import registration_for
from marketplace.catalogue.services import listing_set_chain_address
from marketplace.chain.amounts import ECT_DECIMALS, to_units
from marketplace.chain.anvil import DEV_CHAIN_ID
from marketplace.chain.errors import ChainError, ContractsNotDeployed
from marketplace.chain.ids import task_id
from marketplace.chain.keys import DEV_ADDRESSES, dev_account
from marketplace.chain.orders import (
    ZERO_ADDRESS,
    AppOrder,
    DatasetOrder,
    RequestOrder,
    WorkerpoolOrder,
    hub_domain,
    order_digest,
    sign_order,
    typed_data,
)
from marketplace.chain.selectors import current_hub
from marketplace.chain.signing import scheduler_authorization
from marketplace.demo.listings import RATER_WALLETS, RATINGS, REVIEW_REPLIES
from marketplace.indexer.engine import Indexer, IndexerBusy
from marketplace.orders.models import Order as BookOrder
from marketplace.orders.parsing import ORDER_CLASSES, OrderError
from marketplace.orders.services import Submission, orders_publish
from marketplace.orders.standing import standing_publish
from pools.membership import member_invite

DEMO_REQUESTER, DEMO_WORKER = 5, 6  # dev accounts
DEAL_VOLUME, TASKS_RUN = 3, 2
# The demo's sell orders: runs of apps and datasets, pool offers per category (whose owners
# stake 30 % of the price per task offered).
DEMO_ORDER_VOLUME, DEMO_POOL_VOLUME, DEMO_POOL_TRUST = 10_000, 100, 5
DEMO_POOL_STAKE = 2_000 * 10**9
DEMO_AGENTS, DEMO_WORKER_STAKE = (6, 7), 100 * 10**9  # `make run`'s worker agents


def seed_demo_chain(*, listings: list[Listing]) -> str:
    """Register the demo `listings` not on chain yet (setting their chain_address), and run the
    first deal when something was registered; a line saying what was done, or why not."""
    if settings.CHAIN_ID != DEV_CHAIN_ID:
        return "Demo assets are registered on the development chain only."
    # Loads web3 (half a second): paid only by the processes that talk to the node.
    from marketplace.chain import client

    try:
        hub = current_hub()
    except ContractsNotDeployed:
        return "Demo assets not registered: the contracts are not deployed."
    try:
        w3 = hub.w3
        funder = client.TransactionSender(dev_account(0), w3=w3)
        registered = {}
        for listing in listings:
            if listing.owner_wallet not in DEV_ADDRESSES:
                continue
            asset = registration_for(listing)
            address = hub.predict_address(asset)
            if not hub.is_registered(asset.KIND, address):
                hub.register(sender=funder, asset=asset)
                registered[listing.name] = address
            if listing.chain_address != address:
                listing_set_chain_address(listing=listing, address=address)
    except ChainError as error:
        return f"Demo assets not registered: {error}"
    done = f"Demo assets registered on chain: {len(registered)} new."
    if registered:
        try:
            _first_deal(hub, w3, {listing.name: listing for listing in listings})
        except ChainError as error:
            return f"{done} The first deal failed: {error}"
        done += (
            f" A first deal of {DEAL_VOLUME} tasks: {TASKS_RUN} completed here, the rest left"
            " for the pool's worker agents to run (`make run` starts two)."
        )
    try:
        published = _sell_orders(hub, w3, listings)
    except ChainError as error:
        return f"{done} The demo sell orders were not published: {error}"
    admitted = _admit_agents(listings)
    by_name = {listing.name: listing for listing in listings}
    try:
        standing = _standing_request(hub, w3, by_name)
    except (ChainError, OrderError) as error:
        standing = f"The demo's standing request was not published: {error}"
    try:
        rated = _demo_ratings(hub, w3, by_name)
    except ChainError as error:
        rated = f"The demo's raters could not buy what they rate: {error}"
    return " ".join(
        part
        for part in (f"{done} Sell orders in the book: {published} new.", admitted, standing, rated)
        if part
    )


# The demo's standing request: a run of the renderer on the poster in a class A pool, for at
# most this much per task to the pool, which no offer meets yet: it waits in the book (and its
# page says why) until a pool offers that price.
STANDING_POOL_PRICE = Decimal("0.05")
STANDING_DAYS = 30


def _standing_request(hub, w3, by_name: dict[str, Listing]) -> str:
    """Sign and publish the demo requester's standing request, once (its salt is fixed)."""
    # These load eth_account (1.4 s measured here): imported when the demo's orders are signed.
    from eth_utils import keccak

    app, dataset = by_name.get("resvg SVG renderer"), by_name.get("Single poster drawing")
    if not (app and dataset and app.chain_address and dataset.chain_address):
        return ""
    requester = dev_account(DEMO_REQUESTER)
    domain = hub_domain(chain_id=w3.eth.chain_id, hub_address=hub.address)
    request = RequestOrder(
        app=app.chain_address,
        appmaxprice=_units(app.price),
        dataset=dataset.chain_address,
        datasetmaxprice=_units(dataset.price),
        workerpoolmaxprice=_units(STANDING_POOL_PRICE),
        requester=requester.address,
        volume=1,
        category=0,
        trust=1,
        beneficiary=requester.address,
        params='{"args":"--width 1024 {dataset} /output/output.png"}',
        salt=keccak(text="demo standing request"),
    )
    digest = "0x" + order_digest(request, domain).hex()
    if BookOrder.objects.filter(chain_id=w3.eth.chain_id, digest=digest).exists():
        return ""
    standing_publish(
        user=user_for_wallet(requester.address),
        message=typed_data(request, domain)["message"],
        signature="0x" + sign_order(request, domain, requester.key).hex(),
        requirements={"max_price": str(STANDING_POOL_PRICE), "energy_class": "A"},
        preferences={"preset": "greenest"},
        expires_at=timezone.now() + datetime.timedelta(days=STANDING_DAYS),
    )
    return "A standing request waits in the book for a class A pool at 0.05 ECT a task."


def _admit_agents(listings: list[Listing]) -> str:
    """The demo pools' owners admit `make run`'s two worker agents by hand (recorded as their
    decision, once)."""

    agents = [dev_account(n).address for n in DEMO_AGENTS]
    pools = [
        listing
        for listing in listings
        if listing.kind == Market.POOL
        and listing.chain_address
        and listing.owner_wallet in DEV_ADDRESSES
    ]
    for pool in pools:
        for agent in agents:
            member_invite(
                chain_id=settings.CHAIN_ID,
                workerpool=pool.chain_address,
                worker=agent,
                actor=pool.owner,
                actor_wallet=pool.owner_wallet,
                reason="The local worker agent of `make run`.",
            )
    return f"Worker agents {', '.join(agents)} are members of the {len(pools)} demo pools."


def _sell_orders(hub, w3, listings: list[Listing]) -> int:
    """Sign and publish the demo listings' sell orders (as their providers would from the
    listing pages), and stake for the pools' offers; how many orders were new. Their salts
    derive from the listing, so running this again publishes nothing twice."""
    # These load eth_account (1.4 s measured here): imported when the demo's orders are signed.
    from eth_utils import keccak

    from marketplace.chain import client

    domain = hub_domain(chain_id=w3.eth.chain_id, hub_address=hub.address)
    submissions = []
    pool_owners = set()
    for listing in listings:
        if not listing.chain_address or listing.owner_wallet not in DEV_ADDRESSES:
            continue
        market = MARKETS[listing.kind]
        if market.seller_stakes:
            pool_owners.add(listing.owner_wallet)
        # Runs of apps and datasets at the listing's price per task whatever the category (a
        # dataset: one order per app it allows); pools offer each category at its price.
        orders = market.sell_orders(
            listing,
            volume=DEMO_POOL_VOLUME if market.seller_stakes else DEMO_ORDER_VOLUME,
            price=listing.price,
            prices={p.category: p.price for p in listing.prices.all()},
            trust=DEMO_POOL_TRUST,
        )
        salt = keccak(text=f"demo order {listing.slug}")
        key = dev_account(DEV_ADDRESSES.index(listing.owner_wallet)).key
        for fields in orders:
            # Set apart from the listing's other orders by the app it is kept for, or its
            # category: the same salt on every run.
            if "apprestrict" in fields:
                order_salt = keccak(salt + bytes.fromhex(fields["apprestrict"][2:]))
            elif "category" in fields:
                order_salt = keccak(salt + bytes([fields["category"]]))
            else:
                order_salt = salt
            order = ORDER_CLASSES[market.order_kind](**fields, salt=order_salt)
            submissions.append(
                Submission(
                    kind=market.order_kind,
                    order=typed_data(order, domain)["message"],
                    signature="0x" + sign_order(order, domain, key).hex(),
                )
            )
    funder = client.TransactionSender(dev_account(0), w3=w3)
    wanted = {owner: DEMO_POOL_STAKE for owner in pool_owners}
    # `make run`'s worker agents stake a share of the pool price for each task they run.
    wanted.update({dev_account(n).address: DEMO_WORKER_STAKE for n in DEMO_AGENTS})
    _top_up(hub, funder, wanted)
    outcomes = orders_publish(submissions=submissions)
    return sum(1 for outcome in outcomes if outcome.order is not None)


def _top_up(hub, funder, wanted: dict[str, int]) -> None:
    """Deposit from `funder` what each address lacks of its `wanted` escrow stake (base
    units): running the seeding again deposits nothing more."""
    short = {
        address: amount - hub.account(address).stake
        for address, amount in sorted(wanted.items())
        if hub.account(address).stake < amount
    }
    if short:
        hub.approve_call(amount=sum(short.values())).send(funder)
        for address, amount in short.items():
            hub.deposit_for_call(amount=amount, target=address).send(funder)


def _units(price: Decimal) -> int:
    return to_units(price, decimals=ECT_DECIMALS, currency="ECT")


def _xs(listing: Listing) -> int:
    """The listing's price of an XS task: an app's or dataset's one price, a pool's XS."""
    return _category_price(listing, "XS")


def _category_price(listing: Listing, category: str) -> int:
    return _units(MARKETS[listing.kind].asked_price(listing, category) or Decimal(0))


def _owner_key(listing: Listing):
    return dev_account(DEV_ADDRESSES.index(listing.owner_wallet))


def _deal(
    hub,
    w3,
    *,
    app: Listing,
    dataset: Listing | None,
    pool: Listing,
    requester,
    sender,
    volume: int,
    run: int,
    category: str = "XS",
    params: str | None = None,
) -> bytes:
    """A deal of `volume` tasks of `app` (on `dataset`, None: none) in `pool`, for `category`,
    requested by `requester` (a key: it signs, its escrow pays) and sent by `sender`, its
    providers' orders signed by their owners at their prices; its first `run` tasks run to
    completion here by the demo worker (dev account 6). Its dealid."""
    from marketplace.chain import client

    if params is None:
        params = '{"args": "--width 1024 {dataset} /output/output.png"}'

    domain = hub_domain(chain_id=w3.eth.chain_id, hub_address=hub.address)
    catid = TaskCategory.values.index(category)
    scheduler = client.TransactionSender(_owner_key(pool), w3=w3)
    app_order = AppOrder(app=app.chain_address, appprice=_xs(app), volume=1000)
    dataset_order = (
        DatasetOrder(dataset=dataset.chain_address, datasetprice=_xs(dataset), volume=1000)
        if dataset
        else None
    )
    pool_price = _category_price(pool, category)
    pool_order = WorkerpoolOrder(
        workerpool=pool.chain_address,
        workerpoolprice=pool_price,
        volume=1000,
        category=catid,
        trust=1,
    )
    request = RequestOrder(
        app=app.chain_address,
        appmaxprice=_xs(app),
        dataset=dataset.chain_address if dataset else ZERO_ADDRESS,
        datasetmaxprice=_xs(dataset) if dataset else 0,
        workerpool=pool.chain_address,
        workerpoolmaxprice=pool_price,
        requester=requester.address,
        volume=volume,
        category=catid,
        trust=1,
        beneficiary=requester.address,
        params=params,
    )
    dealid = hub.match_orders(
        sender=sender,
        app_order=app_order,
        app_sign=sign_order(app_order, domain, _owner_key(app).key),
        dataset_order=dataset_order,
        dataset_sign=sign_order(dataset_order, domain, _owner_key(dataset).key)
        if dataset_order
        else b"",
        workerpool_order=pool_order,
        workerpool_sign=sign_order(pool_order, domain, scheduler.account.key),
        request_order=request,
        request_sign=sign_order(request, domain, requester.key),
    )
    worker = dev_account(DEMO_WORKER)
    worker_sender = client.TransactionSender(worker, w3=w3)
    for idx in range(run):
        hub.initialize(sender=scheduler, dealid=dealid, idx=idx)
        taskid = task_id(dealid, idx)
        digest = bytes.fromhex(f"{idx + 1:064x}")
        authorization = scheduler_authorization(
            worker=worker.address, taskid=taskid, scheduler_key=scheduler.account
        )
        hub.commit(sender=worker_sender, taskid=taskid, digest=digest, authorization=authorization)
        hub.reveal(sender=worker_sender, taskid=taskid, digest=digest)
        hub.finalize(sender=scheduler, taskid=taskid, results=f"/results/{taskid.hex()}".encode())
    return dealid


def _first_deal(hub, w3, by_name: dict[str, Listing]) -> None:
    # Loads web3 (half a second): paid only by the processes that talk to the node.
    from marketplace.chain import client

    app, dataset, pool = (
        by_name.get(name)
        for name in ("resvg SVG renderer", "Single poster drawing", "Lyon Edge Alpha")
    )
    if not (app and dataset and pool and app.chain_address and pool.chain_address):
        return
    requester, worker = dev_account(DEMO_REQUESTER), dev_account(DEMO_WORKER)
    funder = client.TransactionSender(dev_account(0), w3=w3)
    stakes = {
        requester.address: _units(Decimal(100)),
        worker.address: _units(Decimal(10)),
        _owner_key(pool).address: _units(Decimal(10)),  # a pool stakes for the tasks it takes
    }
    hub.approve_call(amount=sum(stakes.values())).send(funder)
    for address, amount in stakes.items():
        hub.deposit_for_call(amount=amount, target=address).send(funder)
    _deal(
        hub,
        w3,
        app=app,
        dataset=dataset,
        pool=pool,
        requester=requester,
        sender=client.TransactionSender(requester, w3=w3),
        volume=DEAL_VOLUME,
        run=TASKS_RUN,
    )


# ---------------------------------------------------------------------------- ratings

# The demo raters' keys (marketplace.demo.listings.RATER_WALLETS): anvil's mnemonic accounts
# 10 to 12, public keys of the dev chain only. They hold no ether: they sign their requests and
# the funder sends them; the funder also deposits what they pay.
RATER_KEYS = {
    "0xBcd4042DE499D14e55001CcbB24a551F3b954096": (
        "0xf214f2b2cd398c806f84e317254e0f0b801d0643303237d97a22a48e01628897"
    ),
    "0x71bE63f3384f5fb98995898A86B02Fb2426c5788": (
        "0x701b615bbdfb9de65240bc28bd21bbc0d996645a3dd57e7b12bc2bdf6f192c82"
    ),
    "0xFABB0ac9d68B0B445fB7357272Ff202C5651694a": (
        "0xa267530f49f8280200edf313ee7af6b827f2a8bce2897751d06a843f644967b1"
    ),
}
RATER_DEPOSIT = Decimal(10)  # ECT per rater: a few tasks at the demo's prices
# Seconds the seeding waits for the index to reach the raters' deals before it gives up.
INDEX_SECONDS = 120.0


@dataclass(frozen=True)
class _Rating:
    listing: Listing
    user: object  # the rater's account
    stars: int
    title: str
    body: str


def _wanted_ratings(by_name: dict[str, Listing]) -> list[_Rating]:
    """The demo ratings (listings.RATINGS) still to post: of listings on chain and public, by
    raters whose wallet is still theirs and who have not rated yet."""
    wanted = []
    for name, ratings in RATINGS.items():
        listing = by_name.get(name)
        if listing is None or not (listing.chain_address and listing.is_public):
            continue
        for username, stars, title, body in ratings:
            wallet = Wallet.objects.filter(address=RATER_WALLETS[username]).first()
            if wallet is None or wallet.user.username != username:
                continue  # someone else linked that dev account: it is theirs now
            if Rating.objects.filter(listing=listing, user=wallet.user).exists():
                continue
            wanted.append(_Rating(listing, wallet.user, stars, title, body))
    return wanted


def _runs_to_buy(listings: list[Listing], by_name: dict[str, Listing]) -> list[tuple]:
    """(app, dataset or None, pool, category) runs that, between them, use every one of
    `listings`: the i-th app, dataset and pool to rate go in the i-th run, completed by the
    first demo app and pool when one is missing (and no dataset)."""
    by_kind = {kind: [x for x in listings if x.kind == kind] for kind in Market.values}
    default_app, default_pool = by_name["resvg SVG renderer"], by_name["Lyon Edge Alpha"]
    runs = []
    for i in range(max(map(len, by_kind.values()))):
        app = (by_kind[Market.APP][i:] or [default_app])[0]
        dataset = (by_kind[Market.DATASET][i:] or [None])[0]
        pool = (by_kind[Market.POOL][i:] or [default_pool])[0]
        # The pool's first category on sale (a pool may sell no XS).
        category = next(c for c in TaskCategory.values if _category_price(pool, c))
        runs.append((app, dataset, pool, category))
    return runs


def _rater_deals(hub, w3, wanted: list[_Rating], by_name: dict[str, Listing]) -> int:
    """Buy, for each rater of `wanted` who has not bought what they rate yet, small real deals
    (one task each, completed here as the first deal's are) that use it; how many deals."""
    from marketplace.chain import client

    funder = client.TransactionSender(dev_account(0), w3=w3)
    to_buy: dict[str, list[Listing]] = {}
    for rating in wanted:
        if not selectors.rating_right(listing=rating.listing, user=rating.user).allowed:
            wallet = RATER_WALLETS[rating.user.username]
            to_buy.setdefault(wallet, []).append(rating.listing)
    if not to_buy:
        return 0
    _top_up(hub, funder, dict.fromkeys(to_buy, _units(RATER_DEPOSIT)))
    # eth_account (1.4 s to load): imported when the demo's orders are signed.
    from eth_account import Account

    deals = 0
    for wallet, listings in to_buy.items():
        rater = Account.from_key(RATER_KEYS[wallet])
        for app, dataset, pool, category in _runs_to_buy(listings, by_name):
            _deal(
                hub,
                w3,
                app=app,
                dataset=dataset,
                pool=pool,
                category=category,
                requester=rater,
                sender=funder,
                volume=1,
                run=1,
                params=None if dataset else '{"args": ""}',
            )
            deals += 1
    return deals


def _demo_ratings(hub, w3, by_name: dict[str, Listing]) -> str:
    """Post the demo's ratings as their raters would: once their deals of what they rate are on
    chain, finished and indexed, through the site's own service (so they are verified, with
    their "verified purchase" badge); then the providers' answers. A line saying what was done,
    or what is left."""
    wanted = _wanted_ratings(by_name)
    if not wanted:
        return ""
    deals = _rater_deals(hub, w3, wanted, by_name)
    # The ratings are verified against the index: bring it to the head now (the background
    # indexer then carries on from there).
    indexer = Indexer(poll_seconds=0.05)
    try:
        indexer.run(until_caught_up=True, seconds=INDEX_SECONDS)
    except IndexerBusy:
        return (
            f"The raters bought {deals} runs; their ratings wait for the indexer, which another "
            "process runs: run `manage.py seed_demo` again once it has caught up."
        )
    finally:
        indexer.stop()
    posted = 0
    for rating in wanted:
        if not selectors.rating_right(listing=rating.listing, user=rating.user).allowed:
            continue  # not indexed in time: the next seeding posts it
        review = services.rating_set(
            listing=rating.listing,
            user=rating.user,
            stars=rating.stars,
            title=rating.title,
            body=rating.body,
        )
        posted += 1
        answer = REVIEW_REPLIES.get((rating.listing.name, rating.user.username))
        if answer:
            services.review_reply(rating=review, actor=rating.listing.owner, body=answer)
    return (
        f"Reviews by verified buyers: {posted} of {len(wanted)} posted, after {deals} small "
        "deals of theirs (one task each, completed here)."
    )
