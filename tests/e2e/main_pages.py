"""The main pages of the site, filled as a running market fills them, for the tests that visit
them all (Content-Security-Policy, accessibility).

    site = main_site(chain, hub_deployment, dev_accounts)
    for path in site.anonymous: ...          # as a visitor
    for path in site.signed_in: ...          # as site.requester (the deal's buyer)
    for path in site.staff_only: ...         # as site.staff

The market of tests/chain_scaffold.py (an app, a dataset and a pool registered on
the test's anvil) with a deal of one started task (and an earlier one finished), its listings
published, reviewed by their buyer and commented,
one more app waiting for curation, and the deployment recorded so that wallet.js finds it.
"""

from __future__ import annotations

import dataclasses

from django.contrib.auth.models import AbstractBaseUser
from django.test import Client
from playwright.sync_api import Browser, Page

from datamarket.models import KeyRelease
from marketplace.catalogue import services
from marketplace.catalogue.models import CurationStatus, Listing
from marketplace.chain.models import Deployment
from marketplace.indexer.models import Task
from pools import membership
from tests.chain_scaffold import ECT, Market, new_digest
from tests.factories.accounts import UserFactory
from tests.factories.catalogue import AppFactory
from tests.marketplace.deals.test_progress import started_deal, user_of
from tests.pools.members import admit


@dataclasses.dataclass(frozen=True)
class MainSite:
    requester: AbstractBaseUser  # signed in with the deal's requester wallet linked
    staff: AbstractBaseUser
    anonymous: list[str]
    signed_in: list[str]
    staff_only: list[str]
    dealid: str
    # Pages of the pool's owner (signed in with its wallet) and of the dataset's owner.
    owners: list[tuple[AbstractBaseUser, list[str]]]

    @property
    def visitors(self) -> list[tuple[AbstractBaseUser | None, list[str]]]:
        """Every main page with who visits it: (user or None for a visitor, paths)."""
        return [
            (None, self.anonymous),
            (self.requester, self.signed_in),
            (self.staff, self.staff_only),
            *self.owners,
        ]


def main_site(chain, hub_deployment, dev_accounts) -> MainSite:
    fields = dataclasses.asdict(hub_deployment)
    Deployment.objects.create(chain_id=31337, first_block=fields.pop("block"), **fields)
    market = Market.open(w3=chain, deployment=hub_deployment, accounts=dev_accounts)
    # An earlier run of all three, finished: the requester is a verified buyer of each.
    finished = market.initialize(
        market.match(market.sign_orders(app_price=ECT, dataset_price=ECT, workerpool_price=ECT))
    )
    digest = new_digest()
    market.contribute(market.workers[0], finished, digest)
    market.reveal(market.workers[0], finished, digest)
    market.finalize(finished)
    dealid = started_deal(market, hub_deployment)  # indexed: the assets have their listings
    # The pool's members page has members, a request and a history; the dataset was used.
    admit(market.workerpool, market.workers[:2])
    membership.member_request(
        chain_id=31337, workerpool=market.workerpool, worker=market.workers[2].address, note="Hi"
    )
    staff = UserFactory(username="curator", is_staff=True, is_superuser=True)
    requester = user_of(market.requester.address)
    listings = {}
    for address in (market.app, market.dataset, market.workerpool):
        listing = Listing.objects.get(chain_address=address)
        listing = services.listing_curate(listing=listing, actor=staff, action="approve")
        services.rating_set(listing=listing, user=requester, stars=4, title="As promised")
        services.comment_create(listing=listing, author=requester, body="Worked as promised.")
        listings[listing.kind] = listing
    KeyRelease.objects.create(
        dataset=listings["dataset"].dataset,
        chain_id=31337,
        worker=market.workers[0].address,
        workerpool=market.workerpool,
        dealid=dealid,
        taskid=dealid,
        admitted_via="hand",
    )
    waiting = AppFactory(
        listing__name="Waiting app",
        listing__status=CurationStatus.PENDING,
        # One long word (a hash, a URL): it wraps rather than widening the page.
        listing__description="Built from " + "0123456789abcdef" * 8 + " with **care**.",
    )
    taskid = Task.objects.get(dealid=dealid).taskid
    app = listings["app"]
    details = [listing.get_absolute_url() for listing in listings.values()]
    return MainSite(
        requester=requester,
        staff=staff,
        anonymous=[
            "/",
            "/apps/",
            "/datasets/",
            "/pools/",
            "/market/",
            *details,
            f"/deals/{dealid}/",
            f"/providers/{app.owner.username}/",
            "/chain/index/",
            "/accounts/login/",
            "/accounts/signup/",
            "/no-such-page/",
            "/api/docs/",
            f"/pools/{listings['pool'].slug}/members/",
        ],
        signed_in=[
            "/",
            "/apps/",
            app.get_absolute_url(),
            f"/apps/{app.slug}/buy/",
            f"/pools/{listings['pool'].slug}/buy/",
            "/apps/new/",
            "/deals/",
            f"/deals/{dealid}/",
            f"/deals/{dealid}/tasks/0/",
            f"/results/{taskid}/",
            "/accounts/wallets/",
            "/notifications/",
            "/notifications/preferences/",
            "/dashboard/",
            f"/pools/{listings['pool'].slug}/members/",
        ],
        staff_only=[
            "/curation/",
            waiting.listing.get_absolute_url(),
            "/admin/",
            "/admin/catalogue/listing/",
            f"/admin/catalogue/listing/{app.pk}/change/",
        ],
        dealid=dealid,
        owners=[
            (user_of(market.scheduler.address), [f"/pools/{listings['pool'].slug}/members/"]),
            (listings["dataset"].owner, [f"/datasets/{listings['dataset'].slug}/keys/"]),
        ],
    )


def open_page(
    browser: Browser, server: str, user=None, *, width: int = 1280, **context_options
) -> Page:
    """A page of a new browser context `width` CSS pixels wide, holding `user`'s session on
    `server` when given."""
    context = browser.new_context(viewport={"width": width, "height": 900}, **context_options)
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server}]
        )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page
