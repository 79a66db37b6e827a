"""Trading pages: the offers panel, the provider's register and sell tools, the buy page and
input files; who may use which."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from marketplace.catalogue.models import CurationStatus
from marketplace.orders.models import OrderStatus
from marketplace.orders.parsing import TRUST_MAX
from marketplace.orders.selectors import DEFAULT_TRUST
from tests.factories.accounts import UserFactory, WalletFactory
from tests.factories.catalogue import AppFactory, DatasetFactory, WorkerpoolFactory
from tests.marketplace.orders.test_selectors import offer

pytestmark = pytest.mark.django_db


def _owned(factory, **fields):
    wallet = WalletFactory()
    item = factory(listing__owner=wallet.user, listing__owner_wallet=wallet.address, **fields)
    return item.listing, wallet


def test_the_offers_panel_offers_registration_to_the_owner_of_an_approved_listing(client):
    listing, wallet = _owned(AppFactory)
    url = reverse("listing_offers", args=[listing.kind, listing.slug])
    assert "Register with my wallet" not in client.get(url).content.decode()
    client.force_login(wallet.user)
    html = client.get(url).content.decode()
    assert "Register with my wallet" in html and "Not on chain yet" in html


def test_a_pending_listing_is_not_registered(client, market):
    listing, wallet = _owned(
        AppFactory, listing__status=CurationStatus.PENDING, listing__is_public=False
    )
    client.force_login(wallet.user)
    url = reverse("listing_register", args=[listing.kind, listing.slug])
    response = client.post(url, {"sender": wallet.address}, content_type="application/json")
    assert response.status_code == 400
    assert "Only an approved listing is registered" in response.json()["error"]


def test_only_the_provider_registers_or_sells(client, market):
    listing, _ = _owned(AppFactory)
    client.force_login(UserFactory())
    for name in ("listing_register", "listing_registered", "listing_sell"):
        response = client.post(reverse(name, args=[listing.kind, listing.slug]))
        assert response.status_code == 403, name
    assert (
        client.post(reverse("listing_register", args=[listing.kind, listing.slug])).json()["error"]
        == "Only the listing's provider registers it on chain."
    )


def test_the_sell_form_gives_one_order_per_priced_category_of_a_pool(client, market):
    listing, wallet = _owned(WorkerpoolFactory, listing__chain_address=market.workerpool)
    client.force_login(wallet.user)
    url = reverse("listing_sell", args=[listing.kind, listing.slug])
    answer = client.post(url, {"volume": 10, "trust": 3, "price_XS": "1.5", "price_M": "4"}).json()
    assert answer["kind"] == "workerpool"
    messages = [typed["message"] for typed in answer["orders"]]
    assert [(m["category"], m["workerpoolprice"], m["trust"]) for m in messages] == [
        ("0", "1500000000", "3"),
        ("2", "4000000000", "3"),
    ]
    refused = client.post(url, {"volume": 10, "trust": 3}).json()
    assert "at least one category" in refused["error"]
    assert "field" not in refused  # the form's own rule: no one field is at fault


def test_a_dataset_sells_only_to_its_allowed_apps_on_chain(client, market):
    listing, wallet = _owned(DatasetFactory, listing__chain_address=market.dataset)
    client.force_login(wallet.user)
    url = reverse("listing_sell", args=[listing.kind, listing.slug])
    refused = client.post(url, {"volume": 5, "price": "1"}).json()
    assert "No app allowed to use this dataset is registered" in refused["error"]
    app = AppFactory(listing__chain_address=market.app)
    listing.dataset.allowed_apps.add(app)
    orders = client.post(url, {"volume": 5, "price": "1"}).json()["orders"]
    assert [o["message"]["apprestrict"] for o in orders] == [market.app]


def test_the_providers_tools_answer_whoever_may_not_use_them_in_json(client):
    listing, wallet = _owned(AppFactory)
    url = reverse("listing_register", args=[listing.kind, listing.slug])
    anonymous = client.post(url, {"sender": wallet.address}, content_type="application/json")
    client.force_login(wallet.user)
    missing = client.post(
        reverse("listing_register", args=["app", "no-such-app"]),
        {},
        content_type="application/json",
    )
    stranger = client.post(
        url, {"sender": WalletFactory().address}, content_type="application/json"
    )
    malformed = client.post(url, {"sender": "me"}, content_type="application/json")

    assert (anonymous.status_code, anonymous.json()) == (
        403,
        {
            "error": "Authentication credentials were not provided: sign in on the site (your "
            "session may have ended), then try again."
        },
    )
    assert (missing.status_code, missing.json()) == (
        404,
        {"error": "No such listing, or it is not published."},
    )
    assert (stranger.status_code, stranger.json()) == (
        403,
        {"error": "Send it from one of your linked wallets: connect that wallet first."},
    )
    assert (malformed.status_code, malformed.json()) == (
        400,
        {
            "error": "sender: Enter an address: 0x followed by 40 hexadecimal digits.",
            "field": "sender",
        },
    )


def test_the_sell_form_names_the_field_at_fault(client):
    listing, wallet = _owned(AppFactory)
    client.force_login(wallet.user)

    refused = client.post(
        reverse("listing_sell", args=[listing.kind, listing.slug]), {"price": "1"}
    )

    assert (refused.status_code, refused.json()) == (
        400,
        {"error": "volume: This field is required.", "field": "volume"},
    )


def test_the_providers_tools_need_the_pages_csrf_token():
    client = Client(enforce_csrf_checks=True)
    listing, wallet = _owned(AppFactory)
    client.force_login(wallet.user)

    refused = client.post(
        reverse("listing_sell", args=[listing.kind, listing.slug]), {"volume": 5, "price": "1"}
    )

    assert refused.status_code == 403
    assert refused.json()["error"].startswith("CSRF Failed: ")
    assert refused.json()["error"].endswith(
        ": reload the page (its security token is out of date), then try again."
    )


def test_input_files_are_downloads_never_pages(client):
    client.force_login(UserFactory())
    upload = SimpleUploadedFile("page.html", b"<script>alert(1)</script>", "text/html")
    url = client.post("/api/v1/orders/inputs/", {"file": upload}).json()["url"]
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith('attachment; filename="page.html"')
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client.get(url.replace("page.html", "other.html")).status_code == 404


def test_the_buy_page_needs_a_signed_in_user(client, market):
    listing, _ = _owned(AppFactory, listing__chain_address=market.app)
    url = reverse("app_buy", args=[listing.slug])
    assert client.get(url).status_code == 302
    client.force_login(UserFactory())
    html = client.get(url).content.decode()
    assert "Find offers" in html and "Best offer" in html


def _buy_page(client, default_args: str, query: str = "") -> str:
    app, _ = _owned(AppFactory, listing__chain_address="0x" + "11" * 20, default_args=default_args)
    for name, file_name, address in (
        ("B drawings", "sheet.svg", "0x" + "22" * 20),
        ("A poster", "poster.svg", "0x" + "33" * 20),
    ):
        dataset = DatasetFactory(
            listing__name=name, listing__chain_address=address, original_name=file_name
        )
        dataset.allowed_apps.add(app.app)
    client.force_login(UserFactory())
    return client.get(reverse("app_buy", args=[app.slug]) + query).content.decode()


def test_the_buy_page_of_an_app_that_reads_a_dataset_preselects_its_first_dataset(client):
    html = _buy_page(client, "--width 64 {dataset} /output/out.png")
    assert "No dataset" not in html  # it cannot work: not even offered
    assert (
        f'<option value="0x{"33" * 20}" data-file="poster.svg" selected>A poster</option>' in html
    )
    assert f'<option value="0x{"22" * 20}" data-file="sheet.svg">B drawings</option>' in html
    # The exact command line the worker runs, {dataset} resolved as the worker does.
    assert (
        '<code class="mono" data-trade-command>app --width 64 /input/poster.svg '
        "/output/out.png</code>" in html
    )


def test_a_buy_page_reached_from_a_dataset_starts_with_it(client):
    html = _buy_page(client, "{dataset} /output/out.svg", query=f"?dataset=0x{'22' * 20}")
    assert f'<option value="0x{"22" * 20}" data-file="sheet.svg" selected>B drawings' in html
    assert " selected>A poster" not in html
    assert "app /input/sheet.svg /output/out.svg</code>" in html


def test_a_datasets_offers_lead_to_the_buy_pages_of_its_apps_with_it(client):
    app, _ = _owned(AppFactory, listing__chain_address="0x" + "11" * 20)
    AppFactory(listing__name="Not allowed", listing__chain_address="0x" + "44" * 20)
    dataset = DatasetFactory(listing__chain_address="0x" + "22" * 20)
    dataset.allowed_apps.add(app.app)
    listing = dataset.listing

    html = client.get(reverse("listing_offers", args=[listing.kind, listing.slug])).content.decode()

    buy = reverse("app_buy", args=[app.slug])
    assert f'href="{buy}?dataset=0x{"22" * 20}">Buy a run of {app.name}</a>' in html
    assert "Not allowed" not in html


def test_the_buy_page_of_an_app_that_reads_no_dataset_preselects_none(client):
    html = _buy_page(client, "--help")
    assert '<option value="" selected>No dataset</option>' in html
    # Trust starts where the cards' runs are priced, and stops where the quote does.
    assert f'name="trust" min="0" max="{TRUST_MAX}" value="{DEFAULT_TRUST}"' in html
    assert " selected>A poster" not in html
    assert '<code class="mono" data-trade-command>app --help</code>' in html


def test_a_visitors_offers_panel_reads_the_book_again_and_its_owners_does_not(client):
    listing, wallet = _owned(WorkerpoolFactory, listing__chain_address="0x" + "55" * 20)
    url = reverse("listing_offers", args=[listing.kind, listing.slug])
    live = (
        f'hx-get="{url}" hx-trigger="every 30s, visibilitychange from:document" '
        'hx-swap="outerHTML" data-offers-live'
    )

    assert live in client.get(url).content.decode()
    client.force_login(UserFactory())
    assert live in client.get(url).content.decode()
    # Its owner's panel holds the sell form: trade.js reads it again after each change.
    client.force_login(wallet.user)
    html = client.get(url).content.decode()
    assert "Sign and publish" in html
    assert "data-offers-live" not in html and "hx-trigger" not in html


def test_the_offers_panel_reads_the_same_queries_however_many_offers_it_shows(
    client, django_assert_num_queries
):
    # Given a pool with one offer kept for an app listed here, then with fifteen more
    listing, _ = _owned(WorkerpoolFactory, listing__chain_address="0x" + "55" * 20)
    url = reverse("listing_offers", args=[listing.kind, listing.slug])
    app = AppFactory(listing__chain_address="0x" + "66" * 20)
    offer(listing, "0.1", category=0, app_restrict=app.listing.chain_address)
    client.force_login(UserFactory())
    with CaptureQueriesContext(connection) as one_offer:
        assert client.get(url).status_code == 200

    for n in range(15):
        app = AppFactory(listing__chain_address=f"0x{n + 1:040x}")
        offer(listing, f"0.{n + 2}", category=n % 4, app_restrict=app.listing.chain_address)
    with django_assert_num_queries(len(one_offer)):
        html = client.get(url).content.decode()
    assert html.count("<tr>") == 1 + 16  # its head and every offer
    assert html.count(f">{app.listing.name}</a>") == 1


def test_a_pools_offers_lead_to_the_choice_of_the_app_to_run_on_it(client):
    pool, _ = _owned(WorkerpoolFactory, listing__chain_address="0x" + "55" * 20)
    unregistered, _ = _owned(WorkerpoolFactory)

    html = client.get(reverse("listing_offers", args=[pool.kind, pool.slug])).content.decode()
    buy = reverse("pool_buy", args=[pool.slug])
    assert f'href="{buy}">Buy a run on this pool</a>' in html

    url = reverse("listing_offers", args=[unregistered.kind, unregistered.slug])
    assert "Buy a run on this pool" not in client.get(url).content.decode()


def test_a_run_on_a_pool_is_bought_on_the_page_of_the_app_chosen_with_the_pool_chosen(client):
    # Given a pool on chain with an open offer, two apps on chain, one app not on chain yet
    # and one waiting for curation
    pool, _ = _owned(WorkerpoolFactory, listing__chain_address="0x" + "55" * 20)
    offer(pool, "0.1", category=0)
    resvg = AppFactory(listing__name="resvg", listing__chain_address="0x" + "11" * 20).listing
    usvg = AppFactory(listing__name="usvg", listing__chain_address="0x" + "12" * 20).listing
    AppFactory(listing__name="Unregistered app")
    AppFactory(
        listing__name="Pending app",
        listing__chain_address="0x" + "13" * 20,
        listing__status=CurationStatus.PENDING,
        listing__is_public=False,
    )
    url = reverse("pool_buy", args=[pool.slug])
    assert client.get(url).status_code == 302  # sign in first, as to buy
    client.force_login(UserFactory())

    # When a buyer opens the pool's "Buy a run on this pool"
    html = client.get(url).content.decode()

    # Then each app on chain leads to its buy page with the pool chosen, and only those
    chosen = f"?pool=0x{'55' * 20}"
    for app in (resvg, usvg):
        assert f'href="{reverse("app_buy", args=[app.slug])}{chosen}">{app.name}</a>' in html
    assert "Unregistered app" not in html and "Pending app" not in html
    assert "No open offer" not in html

    # And that buy page starts with the pool chosen (its categories only: trade.js)
    html = client.get(reverse("app_buy", args=[resvg.slug]) + chosen).content.decode()
    assert (
        f'<option value="0x{"55" * 20}" data-categories="0" selected>{pool.name}</option>' in html
    )


def test_a_pool_without_an_open_offer_says_so_where_a_run_on_it_is_bought(client):
    pool, _ = _owned(WorkerpoolFactory, listing__chain_address="0x" + "55" * 20)
    offer(pool, "0.1", category=0, status=OrderStatus.DEAD)
    client.force_login(UserFactory())
    html = client.get(reverse("pool_buy", args=[pool.slug])).content.decode()
    assert "No open offer of this pool right now" in html
