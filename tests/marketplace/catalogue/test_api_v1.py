"""The catalogue under /api/v1/: apps/, datasets/ and pools/, and one listing of each."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.pagination import PageNumberPagination

from marketplace.accounts.models import Wallet
from marketplace.catalogue import services
from marketplace.catalogue.models import CurationStatus, Listing, Rating
from marketplace.indexer.models import Deal
from tests.chain_scaffold import ECT, Market
from tests.factories.accounts import UserFactory, WalletFactory, token_client
from tests.factories.catalogue import AppFactory, DatasetFactory, TagFactory, WorkerpoolFactory
from tests.factories.reviews import buyer, on_chain
from tests.marketplace.indexer.helpers import index_to_head

pytestmark = pytest.mark.django_db


def _names(client, url_name: str, **query) -> list[str]:
    answer = client.get(reverse(url_name), query)
    assert answer.status_code == 200, answer.content
    return [row["name"] for row in answer.json()["results"]]


def test_each_market_lists_its_published_listings(client):
    wasm = TagFactory(name="wasm")
    app = AppFactory(listing__name="Renderer", listing__tags=[wasm]).listing
    AppFactory(listing__name="Pending app", listing__status=CurationStatus.PENDING)
    DatasetFactory(listing__name="Corpus")
    WorkerpoolFactory(listing__name="Pool A")

    answer = client.get(reverse("api_v1_app_list"))

    assert answer.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "kind": "app",
                "slug": app.slug,
                "name": "Renderer",
                "summary": "A useful thing",
                "owner": app.owner.username,
                "owner_wallet": "",
                "chain_address": "",
                "status": "approved",
                "price": "1.000000000",
                "price_from": "1.000000000",
                "cheapest_run": None,
                "rating_avg": "0.00",
                "rating_count": 0,
                "reputation": 0,
                "tags": ["wasm"],
                "url": f"/apps/{app.slug}/",
            }
        ],
    }
    assert _names(client, "api_v1_dataset_list") == ["Corpus"]
    assert _names(client, "api_v1_pool_list") == ["Pool A"]


def test_lists_take_the_list_pages_filters(client):
    AppFactory(listing__name="Cheap renderer", listing__price_from=Decimal("0.5"))
    AppFactory(
        listing__name="Dear renderer",
        listing__price_from=Decimal("9"),
        listing__tags=[TagFactory(name="gpu")],
    )
    AppFactory(listing__name="Word count", listing__price_from=Decimal("2"))
    WorkerpoolFactory(listing__name="Big pool", cpu_cores=32)
    WorkerpoolFactory(listing__name="Small pool", cpu_cores=2)

    assert _names(client, "api_v1_app_list", q="renderer") == ["Dear renderer", "Cheap renderer"]
    assert _names(client, "api_v1_app_list", tag="gpu") == ["Dear renderer"]
    assert _names(client, "api_v1_app_list", price_max="2", sort="price_asc") == [
        "Cheap renderer",
        "Word count",
    ]
    assert _names(client, "api_v1_pool_list", cores_min="16") == ["Big pool"]


def test_a_bad_filter_is_refused_naming_it(client):
    answer = client.get(reverse("api_v1_app_list"), {"price_min": "x", "sort": "cheapest"})

    assert answer.status_code == 400
    assert answer.json() == {
        "error": "price_min must be an amount of ECT such as 2.5, with at most 9 decimals, "
        "not 'x'.",
        "field": "price_min",
    }


def test_filters_the_list_page_takes_empty_are_refused_by_the_api(client):
    answer = client.get(reverse("api_v1_app_list"), {"sort": ""})

    assert answer.status_code == 400
    assert answer.json() == {
        "error": "sort is empty: leave it out, or give one of reputation, newest, price_asc, "
        "price_desc, rating.",
        "field": "sort",
    }


def test_the_forms_own_checks_are_refused_naming_the_filter(client):
    answer = client.get(reverse("api_v1_app_list"), {"price_min": "3", "price_max": "2"})

    assert answer.status_code == 400
    assert answer.json() == {
        "error": "price_max: The maximum price is below the minimum price.",
        "field": "price_max",
    }


def test_lists_come_a_page_at_a_time(client, monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(PageNumberPagination, "page_size", 2)
    for n in range(3):
        DatasetFactory(listing__name=f"Dataset {n}", listing__tags=[TagFactory(name=f"t{n}")])

    # the index's freshness (headers), the count, the page and its tags, however many listings
    with django_assert_max_num_queries(4):
        first = client.get(reverse("api_v1_dataset_list")).json()
    second = client.get(first["next"]).json()

    assert first["count"] == 3
    assert first["next"] == "http://testserver/api/v1/datasets/?page=2"
    assert [row["name"] for row in first["results"] + second["results"]] == [
        "Dataset 2",
        "Dataset 1",
        "Dataset 0",
    ]


def test_a_detail_has_prices_and_is_found_in_its_own_market_only(client):
    app = AppFactory(listing__name="Renderer", listing__price_from=Decimal("0.25")).listing
    pool = WorkerpoolFactory(
        listing__prices={"XS": Decimal("0.25"), "M": Decimal("2")}, listing__price_from=0
    ).listing

    detail = client.get(reverse("api_v1_app_detail", args=[app.slug]))

    assert detail.status_code == 200
    # One price per task for an app; nothing on offer (not on chain), so no run either.
    assert (detail.json()["price"], detail.json()["prices"]) == ("0.250000000", [])
    assert (detail.json()["offers"], detail.json()["cheapest_run"]) == ([], None)
    pool_detail = client.get(reverse("api_v1_pool_detail", args=[pool.slug])).json()
    assert (pool_detail["price"], pool_detail["prices"]) == (
        None,
        [{"category": "XS", "price": "0.250000000"}, {"category": "M", "price": "2.000000000"}],
    )
    assert detail.json()["on_chain"] is None
    assert detail.json()["description"] == "Some **markdown**."
    assert client.get(reverse("api_v1_dataset_detail", args=[app.slug])).status_code == 404
    assert client.get(reverse("api_v1_pool_detail", args=["no-such-pool"])).status_code == 404


def test_an_unpublished_listing_is_for_its_owner_and_staff(client):
    pool = WorkerpoolFactory(listing__status=CurationStatus.PENDING).listing
    url = reverse("api_v1_pool_detail", args=[pool.slug])

    assert client.get(url).status_code == 404
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.force_login(pool.owner)
    assert client.get(url).json()["status"] == "pending"
    client.force_login(UserFactory(is_staff=True))
    assert client.get(url).status_code == 200


def test_a_detail_carries_the_assets_record_on_chain(client, chain, hub_deployment, dev_accounts):
    # Given an app registered on chain and sold 3 tasks, indexed (which lists it, pending)
    market = Market.open(w3=chain, deployment=hub_deployment, accounts=dev_accounts)
    market.match(
        market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=0, volume=3)
    )
    index_to_head(hub_deployment)
    app = services.listing_curate(
        listing=Listing.objects.get(chain_address=market.app),
        actor=UserFactory(is_staff=True),
        action="approve",
        reason="ok",
    )

    on_chain = client.get(reverse("api_v1_app_detail", args=[app.slug])).json()["on_chain"]

    assert on_chain == {
        "address": market.app,
        "owner": market.app_owner.address,
        "registered_block": app.assets.get().registered_block,
        "deals": 1,
        "volume_sold": 3,
        "tasks_completed": 0,
        "tasks_failed": 0,
        "success_rate": None,
        "revenue_units": "0",
        "unconfirmed": False,
    }


def test_a_buyer_posts_a_review_then_edits_it_and_everyone_reads_it_with_its_deal(client):
    listing = WorkerpoolFactory(listing__name="Pool A").listing
    user = buyer(listing, username="ann")
    dealid = Deal.objects.get().dealid
    api = token_client(Wallet.objects.get(user=user).address)
    url = reverse("api_v1_pool_reviews", args=[listing.slug])

    posted = api.post(url, {"stars": 4, "title": "Steady", "body": "40 tasks."}, format="json")
    edited = api.post(url, {"stars": 5}, format="json")
    answer = client.get(url)

    assert (posted.status_code, edited.status_code, answer.status_code) == (201, 200, 200)
    assert posted.json()["stars"] == 4 and posted.json()["edited_at"] is None
    [review] = answer.json()
    assert review == {
        "id": Rating.objects.get().pk,
        "author": "ann",
        "stars": 5,
        "title": "",
        "body": "",
        "verified": True,
        "dealid": dealid,
        "deal_url": f"http://testserver/api/v1/deals/{dealid}/",
        "created_at": review["created_at"],
        "edited_at": review["edited_at"],
        "reply": None,
    }
    assert review["edited_at"] is not None


def test_a_review_from_a_non_buyer_is_refused_with_the_pages_sentence(client):
    listing = AppFactory(listing__name="Renderer").listing
    on_chain(listing)
    url = reverse("api_v1_app_reviews", args=[listing.slug])
    api = token_client(WalletFactory().address)

    refused = api.post(url, {"stars": 5}, format="json")
    malformed = api.post(url, {"stars": 4.5}, format="json")
    anonymous = client.post(url, {"stars": 5}, content_type="application/json")
    owner = token_client(WalletFactory(user=listing.owner).address).post(
        url, {"stars": 5}, format="json"
    )

    assert refused.status_code == 403
    assert refused.json() == {
        "error": "Only buyers can rate: none of your wallets paid for a finished task of "
        "Renderer. Buy a run, and rate it once a task is finalized."
    }
    assert malformed.status_code == 400
    assert malformed.json() == {
        "error": "stars: A rating is a whole number of stars from 1 to 5.",
        "field": "stars",
    }
    assert anonymous.status_code == 401
    assert owner.status_code == 403
    assert owner.json() == {"error": "You cannot rate your own listing."}
    assert not Rating.objects.exists()


def test_reviews_list_verified_first_with_the_owners_answer_and_without_hidden_ones(client):
    listing = DatasetFactory().listing
    early = Rating.objects.create(listing=listing, user=UserFactory(), stars=2)
    answered = services.rating_set(listing=listing, user=buyer(listing), stars=4)
    services.review_reply(rating=answered, actor=listing.owner, body="Thanks!")
    hidden = services.rating_set(listing=listing, user=buyer(listing), stars=1)
    services.review_moderate(rating=hidden, actor=UserFactory(is_staff=True), hide=True)

    results = client.get(reverse("api_v1_dataset_reviews", args=[listing.slug])).json()

    assert [(r["id"], r["verified"], r["dealid"] is None) for r in results] == [
        (answered.pk, True, False),
        (early.pk, False, True),
    ]
    assert results[0]["reply"]["body"] == "Thanks!"
    assert results[1]["deal_url"] is None
