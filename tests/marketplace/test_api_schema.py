"""The whole API against its own OpenAPI schema (/api/schema/).

CASES is one table: for every operation of the schema and every status it documents, a real
request that answers that status. Each answer is checked against the schema: its status is
documented for the operation, its body is JSON of the documented shape (an `Error` for every
refusal), and a successful request's query parameters are ones the schema allows. The table and
the schema must match exactly: a documented status no case produces, or a case of a status the
schema does not document, fails.

To add an endpoint: add its rows with `cases("METHOD /path/{param}/", _200=..., _404=...)`; each
call gets the World (a market on anvil with a deal, its task and a replicate to work on, the
book, listings, and clients as each kind of caller) and makes its request, after any set-up of
its own. Every case runs in a savepoint rolled back after it, with a fresh cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

import pytest
from django.conf import settings
from django.core.cache import cache as django_cache
from django.db import transaction
from django.http import QueryDict
from django.test import override_settings
from eth_account import Account
from eth_account.messages import encode_defunct
from jsonschema import Draft202012Validator
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from datamarket.crypto import generate_dataset_key, wrap_key
from marketplace.accounts.models import Wallet
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Listing
from marketplace.chain.models import Deployment
from marketplace.chain.orders import (
    AppOrder,
    DatasetOrder,
    RequestOrder,
    WorkerpoolOrder,
    sign_order,
    typed_data,
)
from marketplace.indexer.models import Deal
from marketplace.orders import services as book
from marketplace.orders.models import Order as BookOrder
from pools import scheduler
from pools.models import MemberStatus, PoolMember, TaskRun
from tests.chain_scaffold import ECT, Market, closed_port_url, send_ect
from tests.factories.accounts import WalletFactory, token_client
from tests.factories.catalogue import AppFactory, DatasetFactory, WorkerpoolFactory
from tests.factories.reviews import purchase
from tests.marketplace.indexer.helpers import index_to_head
from tests.pools.members import admit
from tests.worker.archives import agent_archive

METHODS = ("get", "put", "post", "patch", "delete")


# ---------------------------------------------------------------------------- the schema


@cache
def api_schema() -> dict:
    """The schema /api/schema/ serves, as JSON."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema, renderer_context={}))


def operations(schema: dict) -> Iterator[tuple[str, dict]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def documented(schema: dict) -> set[tuple[str, int]]:
    return {(name, int(code)) for name, op in operations(schema) for code in op["responses"]}


def _json_schema(node):
    """An OpenAPI 3.0 schema object as JSON Schema (2020-12): `nullable` becomes a null type."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def schema_problems(schema: dict, instance, shape: dict) -> list[str]:
    """Why `instance` is not of the OpenAPI `shape` (refs into the schema's components)."""
    root = {**_json_schema(shape), "components": _json_schema(schema["components"])}
    validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or 'body'}: {error.message[:300]}"
        for error in validator.iter_errors(instance)
    ]


def query_value(value: str, shape: dict):
    """A query string value as a client following `shape` would have meant it."""
    if shape.get("type") == "integer" and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    return value


def query_problems(schema: dict, operation: dict, query) -> list[str]:
    """Why the query string `query` (a QueryDict) is not one the operation documents."""
    parameters = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
    problems = []
    for name, values in query.lists():
        if name not in parameters:
            problems.append(f"query parameter {name} is not documented")
        elif len(values) > 1:
            problems.append(f"query parameter {name} is given {len(values)} times")
        else:
            shape = parameters[name]["schema"]
            problems += [
                f"{name}={values[0]!r}: {problem}"
                for problem in schema_problems(schema, query_value(values[0], shape), shape)
            ]
    return problems


def _path_pattern(template: str) -> re.Pattern:
    return re.compile(
        "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", template)
        )
    )


def answer_problems(schema: dict, case: Case, response) -> list[str]:
    """Why `response` is not what the schema documents for `case`."""
    method, template = case.operation.split(" ", 1)
    request = response.wsgi_request
    if request.method != method or not _path_pattern(template).fullmatch(request.path):
        return [f"the case requested {request.method} {request.path}, not {case.operation}"]
    body = response.content
    if response.status_code != case.status:
        return [f"answered {response.status_code}, not {case.status}: {body[:300]!r}"]
    operation = schema["paths"][template][method.lower()]
    answer = operation["responses"].get(str(response.status_code))
    if answer is None:
        return [f"{response.status_code} is not documented: {body[:300]!r}"]
    problems = []
    if response.status_code < 300:
        problems += query_problems(schema, operation, request.GET)
    if "content" not in answer:
        return problems + ([f"a body where none is documented: {body[:300]!r}"] if body else [])
    if response.get("Content-Type") != "application/json":
        return [*problems, f"Content-Type {response.get('Content-Type')}, not application/json"]
    shape = answer["content"]["application/json"]["schema"]
    return problems + schema_problems(schema, response.json(), shape)


# ---------------------------------------------------------------------------- the world


def _user_of(address: str):
    """The user of wallet `address` (the index may have made it already)."""
    wallet = Wallet.objects.filter(address=address).first() or WalletFactory(address=address)
    return wallet.user


def _publish(market: Market, order, key: str):
    kind = {AppOrder: "app", DatasetOrder: "dataset", WorkerpoolOrder: "workerpool"}[type(order)]
    return book.order_publish(
        kind=kind,
        order=typed_data(order, market.domain)["message"],
        signature="0x" + sign_order(order, market.domain, key).hex(),
    )


@dataclasses.dataclass
class World:
    """A market on anvil (dev accounts: 1 app owner, 2 dataset owner, 3 pool owner, 4 the
    buyer, 5.. workers, the first a member of the pool) with a deal of one task using the
    dataset, started and indexed; the book with an order of each asset; a listing of each
    asset; and a client for each caller."""

    market: Market
    dealid: str
    taskid: str
    app_order: str  # digest of the book's app order
    app_slug: str
    dataset_slug: str
    pool_slug: str
    anonymous: APIClient
    session: APIClient  # the buyer, signed in (CSRF checks off, as for a page's own script)
    browser: APIClient  # the buyer, signed in, sending no CSRF token
    buyer: APIClient  # the buyer's wallet token
    app_owner: APIClient  # the app owner's wallet token
    worker: APIClient  # the wallet token of a worker, a member of the pool

    # ------------------------------------------------------------------ set-ups of cases

    def replicate(self) -> int:
        """A replicate of the deal's task assigned to the worker."""
        answer = self.worker.post("/api/v1/workers/work/", {"pool": self.market.workerpool}, "json")
        assert answer.status_code == 201, answer.content
        return answer.json()["work"]["replicate"]

    def failed_replicate(self) -> int:
        pk = self.replicate()
        report = {"event": "failed", "reason": "out of fuel", "app_fault": True}
        answer = self.worker.post(f"/api/v1/workers/replicates/{pk}/report/", report, "json")
        assert answer.status_code == 200, answer.content
        return pk

    def signed_app_order(self) -> dict:
        """A new app order (its salt is random), signed by the app's owner."""
        order = AppOrder(app=self.market.app, appprice=7 * ECT, volume=3)
        domain = self.market.domain
        return {
            "kind": "app",
            "order": typed_data(order, domain)["message"],
            "signature": "0x" + sign_order(order, domain, self.market.app_owner.key).hex(),
        }

    def book_app_order(self) -> dict:
        """The book's app order, as it was published."""
        order = BookOrder.objects.get(digest=self.app_order)
        return {"kind": "app", "order": order.message, "signature": order.signature}

    def quote_body(self, **changes) -> dict:
        return {
            "requester": self.market.requester.address,
            "app": self.market.app,
            "dataset": self.market.dataset,
            "category": 0,
            **changes,
        }

    def match_body(self) -> dict:
        quote = self.session.post("/api/v1/orders/quote/", self.quote_body(), "json").json()
        assert quote["ready"], quote["failures"]
        signed = self.market.requester.sign_typed_data(full_message=quote["request_typed_data"])
        return {
            "request": quote["request_typed_data"]["message"],
            "signature": "0x" + bytes(signed.signature).hex(),
            "app_order": quote["app_order"]["digest"],
            "dataset_order": quote["dataset_order"]["digest"],
            "workerpool_order": quote["workerpool_order"]["digest"],
        }

    def escrow_body(self, path: str, amount: str = "1", address: str | None = None) -> dict:
        """A body for the escrow endpoint at `path` (a deposit's permit signature is made up)."""
        body = {"address": address or self.market.requester.address, "amount": amount}
        if path == "deposit/":
            body |= {"deadline": 2**40, "signature": "0x" + "11" * 65}
        return body

    def signed_permit(self) -> dict:
        body = self.escrow_body("deposit/permit/")
        typed = self.session.post("/api/v1/escrow/deposit/permit/", body, "json").json()
        signed = self.market.requester.sign_typed_data(full_message=typed["typed_data"])
        return {
            **body,
            "deadline": typed["deadline"],
            "signature": "0x" + bytes(signed.signature).hex(),
        }

    def token_body(self, account=None) -> dict:
        account = account or Account.create()
        challenge = self.anonymous.post(
            "/api/v1/auth/challenge/", {"address": account.address, "chainId": 31337}, "json"
        )
        message = challenge.json()["message"]
        signed = account.sign_message(encode_defunct(text=message))
        return {"message": message, "signature": "0x" + bytes(signed.signature).hex()}


@pytest.fixture
def world(chain, hub_deployment, dev_accounts) -> World:
    fields = dataclasses.asdict(hub_deployment)
    Deployment.objects.create(chain_id=31337, first_block=fields.pop("block"), **fields)
    market = Market.open(w3=chain, deployment=hub_deployment, accounts=dev_accounts)
    admit(market.workerpool, [market.workers[0]])
    send_ect(hub_deployment, dev_accounts[0], market.requester.address, 100 * ECT)
    dealid = market.match(
        market.sign_orders(app_price=ECT, dataset_price=ECT, workerpool_price=ECT, trust=1)
    )
    index_to_head(hub_deployment)
    scheduler.runs_create(chain_id=31337)
    scheduler.runs_initialize(chain_id=31337, hub=market.hub)
    index_to_head(hub_deployment)

    app = AppFactory(listing__chain_address=market.app)
    dataset = DatasetFactory(
        listing__chain_address=market.dataset,
        wrapped_key=wrap_key(
            generate_dataset_key(), server_key=settings.DATASET_KEY_ENCRYPTION_KEY
        ),
    )
    pool = WorkerpoolFactory(listing__chain_address=market.workerpool)
    app_order = _publish(
        market, AppOrder(app=market.app, appprice=ECT, volume=50), market.app_owner.key
    )
    _publish(
        market,
        DatasetOrder(dataset=market.dataset, datasetprice=ECT, volume=50),
        market.dataset_owner.key,
    )
    _publish(
        market,
        WorkerpoolOrder(
            workerpool=market.workerpool, workerpoolprice=ECT, volume=50, category=0, trust=1
        ),
        market.scheduler.key,
    )

    buyer = _user_of(market.requester.address)
    session = APIClient()
    session.force_login(buyer)
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(buyer)
    owner = _user_of(market.app_owner.address)
    worker = _user_of(market.workers[0].address)
    return World(
        market=market,
        dealid="0x" + dealid.hex(),
        taskid=TaskRun.objects.get().taskid,
        app_order=app_order.digest,
        app_slug=app.listing.slug,
        dataset_slug=dataset.listing.slug,
        pool_slug=pool.listing.slug,
        anonymous=APIClient(),
        session=session,
        browser=browser,
        buyer=token_client(market.requester.address, user=buyer),
        app_owner=token_client(market.app_owner.address, user=owner),
        worker=token_client(market.workers[0].address, user=worker),
    )


# ---------------------------------------------------------------------------- the table


@dataclasses.dataclass(frozen=True)
class Case:
    operation: str  # "METHOD /path/{param}/", as the schema names it
    status: int
    call: Callable[[World], object]  # makes the request; returns the test client's response

    def __str__(self) -> str:
        return f"{self.operation} → {self.status}"


def cases(operation: str, **calls: Callable[[World], object]) -> list[Case]:
    """The cases of one operation: cases("GET /x/", _200=call, _404=call)."""
    return [Case(operation, int(code.lstrip("_")), call) for code, call in calls.items()]


def node_down(call: Callable[[], object]) -> object:
    """`call` while the chain's node does not answer."""
    with override_settings(WEB3_RPC_URL=closed_port_url()):
        return call()


def not_deployed(call: Callable[[], object]) -> object:
    """`call` while no deployment of our contracts is recorded."""
    Deployment.objects.all().delete()
    return call()


@contextmanager
def _worker_rate(rate: str) -> Iterator[None]:
    rates = ScopedRateThrottle.THROTTLE_RATES
    previous = rates["workers"]
    rates["workers"] = rate
    try:
        yield
    finally:
        rates["workers"] = previous


def throttled(call: Callable[[], object], client: APIClient) -> object:
    """`call` once `client` has used up the worker API's rate (one call a minute)."""
    with _worker_rate("1/min"):
        client.get("/api/v1/workers/replicates/0/")
        return call()


def _caps(w: World, address: str | None = None) -> str:
    """The caps of the buyer's wallet (or of `address`)."""
    return f"/api/v1/wallets/{address or w.market.requester.address}/caps/"


def text(client: APIClient, path: str) -> object:
    """A POST of a plain-text body, which no endpoint reads."""
    return client.post(path, "plain words", content_type="text/plain")


def _listing_cases(plural: str, slug: Callable[[World], str], bad: dict) -> list[Case]:
    return [
        *cases(
            f"GET /api/v1/{plural}/",
            _200=lambda w: w.anonymous.get(f"/api/v1/{plural}/", {"sort": "price_asc"}),
            _400=lambda w: w.anonymous.get(f"/api/v1/{plural}/", bad),
            _404=lambda w: w.anonymous.get(f"/api/v1/{plural}/", {"page": "9"}),
        ),
        *cases(
            f"GET /api/v1/{plural}/{{slug}}/",
            _200=lambda w: w.anonymous.get(f"/api/v1/{plural}/{slug(w)}/"),
            _404=lambda w: w.anonymous.get(f"/api/v1/{plural}/no-such-listing/"),
        ),
    ]


def _review(w: World, slug: str, *, times: int = 1) -> object:
    """The buyer's review of listing `slug` (its deal's task finalized), posted `times` times:
    the last answer."""
    listing = Listing.objects.get(slug=slug)
    purchase(listing, wallet=w.market.requester.address)
    path = f"/api/v1/{MARKETS[listing.kind].url_prefix}/{slug}/reviews/"
    for _ in range(times):
        answer = w.buyer.post(path, {"stars": 4, "body": "Ran as described."}, "json")
    return answer


def _review_cases(plural: str, slug: Callable[[World], str]) -> list[Case]:
    def path(w: World, listing: str = "") -> str:
        return f"/api/v1/{plural}/{listing or slug(w)}/reviews/"

    def too_fast(w: World) -> object:
        with override_settings(RATING_RATE="1/min"):
            return _review(w, slug(w), times=2)

    return [
        *cases(
            f"GET /api/v1/{plural}/{{slug}}/reviews/",
            _200=lambda w: w.anonymous.get(path(w)),
            _404=lambda w: w.anonymous.get(path(w, "no-such-listing")),
        ),
        *cases(
            f"POST /api/v1/{plural}/{{slug}}/reviews/",
            _200=lambda w: _review(w, slug(w), times=2),
            _201=lambda w: _review(w, slug(w)),
            _400=lambda w: w.buyer.post(path(w), {"stars": 6}, "json"),
            _401=lambda w: w.anonymous.post(path(w), {"stars": 4}, "json"),
            _403=lambda w: w.buyer.post(path(w), {"stars": 4}, "json"),  # no finished task
            _404=lambda w: w.buyer.post(path(w, "no-such-listing"), {"stars": 4}, "json"),
            _415=lambda w: text(w.buyer, path(w)),
            _429=too_fast,
        ),
    ]


def _buyers_listing(w: World, factory=WorkerpoolFactory, **fields) -> Listing:
    """A new approved listing of the buyer (the session's user), owned by its wallet."""
    wallet = w.market.requester.address
    owned = factory(listing__owner=_user_of(wallet), listing__owner_wallet=wallet, **fields)
    return owned.listing


def _offers(listing: Listing | None, tool: str) -> str:
    """The URL of a provider's tool (register/, registered/, sell/) of `listing` (None: none)."""
    if listing is None:
        return f"/offers/pool/no-such-listing/{tool}/"
    return f"/offers/{listing.kind}/{listing.slug}/{tool}/"


def _others_listing(w: World) -> Listing:
    return Listing.objects.get(slug=w.pool_slug)


def _register(w: World, client: APIClient | None = None, **body) -> object:
    listing = _buyers_listing(w)
    sender = {"sender": w.market.requester.address, **body}
    return (client or w.session).post(_offers(listing, "register"), sender, "json")


def _sell(w: World, body: dict, fmt: str | None = None) -> object:
    listing = _buyers_listing(w, AppFactory, listing__chain_address=w.market.app)
    return w.session.post(_offers(listing, "sell"), body, fmt)


SIWE_MESSAGE = "/accounts/siwe/message/"
SIWE_VERIFY = "/accounts/siwe/verify/"


def _replicate(w: World, path: str = "") -> str:
    return f"/api/v1/workers/replicates/{w.replicate()}/{path}"


def _apply(w: World) -> str:
    return f"/api/v1/workers/pools/{w.market.workerpool}/apply/"


def _upload(w: World, pk: int) -> object:
    archive = agent_archive()
    digest = "0x" + hashlib.sha256(archive).hexdigest()
    return w.worker.post(
        f"/api/v1/workers/replicates/{pk}/result/",
        {"archive": io.BytesIO(archive), "digest": digest},
    )


def _input(w: World) -> dict:
    return w.session.post("/api/v1/orders/inputs/", {"file": io.BytesIO(b"an input")}).json()


def _input_in_use(w: World) -> object:
    stored = _input(w)
    Deal.objects.filter(dealid=w.dealid).update(params=json.dumps({"input_files": [stored["url"]]}))
    return w.session.delete(f"/api/v1/orders/inputs/{stored['token']}/")


def _over_quota(w: World) -> object:
    with override_settings(INPUT_QUOTA_FILES=0):
        return w.session.post("/api/v1/orders/inputs/", {"file": io.BytesIO(b"one too many")})


STANDING = "/api/v1/orders/standing/"


def _standing_body(w: World, *, account=None, **changes) -> dict:
    """A standing request of `account` (default: the buyer), signed, for the book's offers."""
    account = account or w.market.requester
    request = RequestOrder(
        app=w.market.app,
        appmaxprice=ECT,
        workerpoolmaxprice=ECT,
        requester=account.address,
        beneficiary=account.address,
        category=0,
        trust=1,
        params='{"args":"x"}',
    )
    signature = sign_order(request, w.market.domain, account.key)
    message = typed_data(request, w.market.domain)["message"]
    return {"request": message, "signature": "0x" + signature.hex(), **changes}


def _standing_twice(w: World) -> object:
    """The same standing request published a second time."""
    body = _standing_body(w)
    w.session.post(STANDING, body, "json")
    return w.session.post(STANDING, body, "json")


def _standing(w: World) -> str:
    """A standing request of the buyer, published: its digest."""
    answer = w.session.post(STANDING, _standing_body(w), "json")
    assert answer.status_code == 201, answer.content
    return answer.json()["digest"]


UNKNOWN_ID = "0x" + "ab" * 32
ESCROW = "/api/v1/escrow/"


def _priced(w: World, path: str, query: dict | None = None, *, address: str = "") -> object:
    """GET /api/v1/<path><the market's asset of that kind>/ (`address` instead when given)."""
    prefix = path.split("/")[1]
    role = {"apps": "app", "datasets": "dataset", "pools": "workerpool"}.get(prefix)
    address = address or (getattr(w.market, role) if role else "")
    return w.anonymous.get(f"/api/v1/{path}{address}{'/' if address else ''}", query or {})


CASES: list[Case] = [
    *cases("GET /api/chain/status/", _200=lambda w: w.anonymous.get("/api/chain/status/")),
    # ------------------------------------------------------------------ the catalogue
    *_listing_cases("apps", lambda w: w.app_slug, {"rating_min": "0"}),
    *_listing_cases("datasets", lambda w: w.dataset_slug, {"price_max": ""}),
    *_listing_cases("pools", lambda w: w.pool_slug, {"cores_min": "0"}),
    *_review_cases("apps", lambda w: w.app_slug),
    *_review_cases("datasets", lambda w: w.dataset_slug),
    *_review_cases("pools", lambda w: w.pool_slug),
    # ------------------------------------------------------------------ sign-in, browsers
    *cases(
        f"POST {SIWE_MESSAGE}",
        _200=lambda w: w.anonymous.post(
            SIWE_MESSAGE, {"address": Account.create().address, "chainId": 31337}, "json"
        ),
        _400=lambda w: w.anonymous.post(
            SIWE_MESSAGE, {"address": w.market.app, "chainId": 1}, "json"
        ),
        _403=lambda w: w.browser.post(
            SIWE_MESSAGE, {"address": w.market.app, "chainId": 31337}, "json"
        ),
        _415=lambda w: text(w.anonymous, SIWE_MESSAGE),
        _429=lambda w: [
            w.anonymous.post(SIWE_MESSAGE, {"address": w.market.app, "chainId": 31337}, "json")
            for _ in range(31)
        ][-1],
    ),
    *cases(
        f"POST {SIWE_VERIFY}",
        # A client of its own: signing in keeps the session.
        _200=lambda w: APIClient().post(SIWE_VERIFY, w.token_body(), "json"),
        _400=lambda w: APIClient().post(
            SIWE_VERIFY, {**w.token_body(), "signature": "0x" + "11" * 65}, "json"
        ),
        _403=lambda w: w.browser.post(SIWE_VERIFY, w.token_body(), "json"),
        _415=lambda w: text(APIClient(), SIWE_VERIFY),
    ),
    # ------------------------------------------------------------------ sign-in tokens
    *cases(
        "POST /api/v1/auth/challenge/",
        _200=lambda w: w.anonymous.post(
            "/api/v1/auth/challenge/",
            {"address": Account.create().address, "chainId": 31337},
            "json",
        ),
        _400=lambda w: w.anonymous.post(
            "/api/v1/auth/challenge/", {"address": w.market.app, "chainId": 1}, "json"
        ),
        _415=lambda w: text(w.anonymous, "/api/v1/auth/challenge/"),
        _429=lambda w: [
            w.anonymous.post(
                "/api/v1/auth/challenge/", {"address": w.market.app, "chainId": 31337}, "json"
            )
            for _ in range(31)
        ][-1],
    ),
    *cases(
        "POST /api/v1/auth/token/",
        _201=lambda w: w.anonymous.post("/api/v1/auth/token/", w.token_body(), "json"),
        _400=lambda w: w.anonymous.post(
            "/api/v1/auth/token/", {**w.token_body(), "signature": "0x" + "11" * 65}, "json"
        ),
        _415=lambda w: text(w.anonymous, "/api/v1/auth/token/"),
    ),
    *cases(
        "DELETE /api/v1/auth/token/",
        _204=lambda w: w.buyer.delete("/api/v1/auth/token/"),
        _401=lambda w: w.anonymous.delete("/api/v1/auth/token/"),
    ),
    *cases(
        "GET /api/v1/auth/me/",
        _200=lambda w: w.buyer.get("/api/v1/auth/me/"),
        _401=lambda w: w.anonymous.get("/api/v1/auth/me/"),
    ),
    # ------------------------------------------------------------------ deals and tasks
    *cases(
        "GET /api/v1/deals/",
        _200=lambda w: w.anonymous.get("/api/v1/deals/", {"requester": w.market.requester.address}),
        _400=lambda w: w.anonymous.get("/api/v1/deals/", {"requester": "me"}),
        _404=lambda w: w.anonymous.get("/api/v1/deals/", {"page": "2"}),
    ),
    *cases(
        "GET /api/v1/deals/{dealid}/",
        _200=lambda w: w.anonymous.get(f"/api/v1/deals/{w.dealid}/"),
        _400=lambda w: w.anonymous.get("/api/v1/deals/0x12/"),
        _404=lambda w: w.anonymous.get(f"/api/v1/deals/{UNKNOWN_ID}/"),
    ),
    *cases(
        "GET /api/v1/tasks/{taskid}/",
        _200=lambda w: w.anonymous.get(f"/api/v1/tasks/{w.taskid}/"),
        _400=lambda w: w.anonymous.get("/api/v1/tasks/task-0/"),
        _404=lambda w: w.anonymous.get(f"/api/v1/tasks/{UNKNOWN_ID}/"),
    ),
    # ------------------------------------------------------------------ prices and depth
    *[
        case
        for what in ("prices", "depth")
        for case in (
            *cases(
                f"GET /api/v1/{what}/apps/{{address}}/",
                _200=lambda w, o=what: _priced(w, f"{o}/apps/"),
                _404=lambda w, o=what: _priced(w, f"{o}/apps/", address=w.market.dataset),
            ),
            *cases(
                f"GET /api/v1/{what}/datasets/{{address}}/",
                _200=lambda w, o=what: _priced(w, f"{o}/datasets/"),
                _404=lambda w, o=what: _priced(w, f"{o}/datasets/", address=w.market.app),
            ),
            *cases(
                f"GET /api/v1/{what}/pools/{{address}}/",
                _200=lambda w, o=what: _priced(w, f"{o}/pools/", {"category": "0"}),
                _400=lambda w, o=what: _priced(w, f"{o}/pools/", {"category": "XS"}),
                _404=lambda w, o=what: _priced(w, f"{o}/pools/", {"category": "9"}),
            ),
            *cases(
                f"GET /api/v1/{what}/market/",
                _200=lambda w, o=what: _priced(w, f"{o}/market/", {"category": "0"}),
                _400=lambda w, o=what: _priced(w, f"{o}/market/", {"category": "-1"}),
                _404=lambda w, o=what: _priced(w, f"{o}/market/", {"category": "9"}),
            ),
        )
    ],
    *cases(
        "GET /api/v1/prices/apps/{address}/",
        _400=lambda w: _priced(w, "prices/apps/", {"bucket": "week"}),
    ),
    *cases(
        "GET /api/v1/prices/datasets/{address}/",
        _400=lambda w: _priced(w, "prices/datasets/", {"since": "2025-03-01", "until": "2025"}),
    ),
    # ------------------------------------------------------------------ escrow
    *cases(
        "GET /api/v1/escrow/{address}/",
        _200=lambda w: w.anonymous.get(f"{ESCROW}{w.market.requester.address}/"),
        _400=lambda w: w.anonymous.get(f"{ESCROW}0x1234/"),
        _503=lambda w: node_down(lambda: w.anonymous.get(f"{ESCROW}{w.market.app}/")),
    ),
    *[
        case
        for path, success in (
            ("deposit/permit/", lambda w: w.escrow_body("deposit/permit/")),
            ("deposit/", lambda w: w.signed_permit()),
            ("withdraw/", lambda w: w.escrow_body("withdraw/")),
        )
        for case in cases(
            f"POST {ESCROW}{path}",
            _200=lambda w, path=path, success=success: w.session.post(
                ESCROW + path, success(w), "json"
            ),
            _400=lambda w, path=path: w.session.post(
                ESCROW + path, w.escrow_body(path, amount="x"), "json"
            ),
            _401=lambda w, path=path: w.anonymous.post(ESCROW + path, w.escrow_body(path), "json"),
            _403=lambda w, path=path: w.session.post(
                ESCROW + path, w.escrow_body(path, address=w.market.app), "json"
            ),
            _415=lambda w, path=path: text(w.session, ESCROW + path),
            _503=lambda w, path=path: node_down(
                lambda: w.session.post(ESCROW + path, w.escrow_body(path), "json")
            ),
        )
    ],
    # ------------------------------------------------------------------ the order book
    *cases(
        "GET /api/v1/orders/",
        _200=lambda w: w.anonymous.get("/api/v1/orders/", {"kind": "app", "tag": "tee,3"}),
        _400=lambda w: w.anonymous.get("/api/v1/orders/", {"tag": "①"}),
        _404=lambda w: w.anonymous.get("/api/v1/orders/", {"page": "2"}),
    ),
    *cases(
        "GET /api/v1/orders/{digest}/",
        _200=lambda w: w.anonymous.get(f"/api/v1/orders/{w.app_order}/"),
        _400=lambda w: w.anonymous.get("/api/v1/orders/cheapest/"),
        _404=lambda w: w.anonymous.get(f"/api/v1/orders/{UNKNOWN_ID}/"),
    ),
    *cases(
        "POST /api/v1/orders/{digest}/unpublish/",
        _200=lambda w: w.app_owner.post(f"/api/v1/orders/{w.app_order}/unpublish/"),
        _400=lambda w: w.app_owner.post("/api/v1/orders/0x12/unpublish/"),
        _401=lambda w: w.anonymous.post(f"/api/v1/orders/{w.app_order}/unpublish/"),
        _403=lambda w: w.buyer.post(f"/api/v1/orders/{w.app_order}/unpublish/"),
        _404=lambda w: w.app_owner.post(f"/api/v1/orders/{UNKNOWN_ID}/unpublish/"),
    ),
    *cases(
        "POST /api/v1/orders/{digest}/close/",
        _200=lambda w: w.app_owner.post(f"/api/v1/orders/{w.app_order}/close/"),
        _400=lambda w: w.app_owner.post("/api/v1/orders/0x12/close/"),
        _401=lambda w: w.anonymous.post(f"/api/v1/orders/{w.app_order}/close/"),
        _403=lambda w: w.browser.post(f"/api/v1/orders/{w.app_order}/close/"),
        _404=lambda w: w.app_owner.post(f"/api/v1/orders/{UNKNOWN_ID}/close/"),
    ),
    *cases(
        "POST /api/v1/orders/publish/",
        _201=lambda w: w.buyer.post("/api/v1/orders/publish/", w.signed_app_order(), "json"),
        _207=lambda w: w.buyer.post(
            "/api/v1/orders/publish/", {"orders": [w.signed_app_order(), {"kind": "x"}]}, "json"
        ),
        _400=lambda w: w.buyer.post("/api/v1/orders/publish/", {"orders": [{"kind": "x"}]}, "json"),
        _401=lambda w: w.anonymous.post("/api/v1/orders/publish/", w.signed_app_order(), "json"),
        _403=lambda w: w.browser.post("/api/v1/orders/publish/", w.signed_app_order(), "json"),
        _409=lambda w: w.buyer.post("/api/v1/orders/publish/", w.book_app_order(), "json"),
        _415=lambda w: text(w.buyer, "/api/v1/orders/publish/"),
        _503=lambda w: not_deployed(
            lambda: w.buyer.post("/api/v1/orders/publish/", w.signed_app_order(), "json")
        ),
    ),
    *cases(
        "POST /api/v1/orders/typed-data/",
        _200=lambda w: w.anonymous.post(
            "/api/v1/orders/typed-data/",
            {"kind": "app", "order": {"app": w.market.app, "appprice": "5", "volume": "2"}},
            "json",
        ),
        _400=lambda w: w.anonymous.post("/api/v1/orders/typed-data/", {"kind": "car"}, "json"),
        _403=lambda w: w.browser.post(
            "/api/v1/orders/typed-data/", {"kind": "app", "order": {}}, "json"
        ),
        _415=lambda w: text(w.anonymous, "/api/v1/orders/typed-data/"),
        _503=lambda w: not_deployed(
            lambda: w.anonymous.post(
                "/api/v1/orders/typed-data/", {"kind": "app", "order": {}}, "json"
            )
        ),
    ),
    *cases(
        "POST /api/v1/orders/inputs/",
        _201=lambda w: w.session.post("/api/v1/orders/inputs/", {"file": io.BytesIO(b"the input")}),
        _400=lambda w: w.session.post("/api/v1/orders/inputs/", {"other": "field"}),
        _401=lambda w: w.anonymous.post("/api/v1/orders/inputs/", {"file": io.BytesIO(b"x")}),
        _403=lambda w: w.browser.post("/api/v1/orders/inputs/", {"file": io.BytesIO(b"x")}),
        _413=_over_quota,
        _415=lambda w: w.session.post("/api/v1/orders/inputs/", {"file": "x"}, "json"),
    ),
    *cases(
        "GET /api/v1/orders/inputs/",
        _200=lambda w: w.session.get("/api/v1/orders/inputs/"),
        _401=lambda w: w.anonymous.get("/api/v1/orders/inputs/"),
    ),
    *cases(
        "DELETE /api/v1/orders/inputs/{token}/",
        _204=lambda w: w.session.delete(f"/api/v1/orders/inputs/{_input(w)['token']}/"),
        _401=lambda w: w.anonymous.delete(f"/api/v1/orders/inputs/{'0' * 32}/"),
        _403=lambda w: w.browser.delete(f"/api/v1/orders/inputs/{_input(w)['token']}/"),
        _404=lambda w: w.session.delete(f"/api/v1/orders/inputs/{'0' * 32}/"),
        _409=_input_in_use,
    ),
    *cases(
        "POST /api/v1/orders/quote/",
        _200=lambda w: w.session.post("/api/v1/orders/quote/", w.quote_body(), "json"),
        _400=lambda w: w.session.post("/api/v1/orders/quote/", w.quote_body(app="me"), "json"),
        _401=lambda w: w.anonymous.post("/api/v1/orders/quote/", w.quote_body(), "json"),
        _403=lambda w: w.session.post(
            "/api/v1/orders/quote/", w.quote_body(requester=w.market.app), "json"
        ),
        _415=lambda w: text(w.session, "/api/v1/orders/quote/"),
        _503=lambda w: not_deployed(
            lambda: w.session.post("/api/v1/orders/quote/", w.quote_body(), "json")
        ),
    ),
    *cases(
        "POST /api/v1/market/explain/",
        _200=lambda w: w.session.post(
            "/api/v1/market/explain/",
            w.quote_body(requirements={"region": "eu-west"}, preferences={"preset": "fastest"}),
            "json",
        ),
        _400=lambda w: w.session.post(
            "/api/v1/market/explain/",
            w.quote_body(requirements={"expression": "TARGET.Cores >="}),
            "json",
        ),
        _401=lambda w: w.anonymous.post("/api/v1/market/explain/", w.quote_body(), "json"),
        _403=lambda w: w.session.post(
            "/api/v1/market/explain/", w.quote_body(requester=w.market.app), "json"
        ),
        _415=lambda w: text(w.session, "/api/v1/market/explain/"),
    ),
    *cases(
        "POST /api/v1/orders/match/",
        _200=lambda w: w.session.post("/api/v1/orders/match/", w.match_body(), "json"),
        _400=lambda w: w.session.post(
            "/api/v1/orders/match/", {**w.match_body(), "signature": "0x" + "11" * 65}, "json"
        ),
        _401=lambda w: w.anonymous.post("/api/v1/orders/match/", {}, "json"),
        _403=lambda w: w.browser.post("/api/v1/orders/match/", {}, "json"),
        _415=lambda w: text(w.session, "/api/v1/orders/match/"),
        _503=lambda w: (
            lambda body: not_deployed(lambda: w.session.post("/api/v1/orders/match/", body, "json"))
        )(w.match_body()),
    ),
    *cases(
        "GET /api/v1/orders/standing/",
        _200=lambda w: w.session.get(STANDING),
        _401=lambda w: w.anonymous.get(STANDING),
    ),
    *cases(
        "POST /api/v1/orders/standing/",
        _201=lambda w: w.session.post(STANDING, _standing_body(w), "json"),
        _400=lambda w: w.session.post(
            STANDING, _standing_body(w, preferences={"preset": "fast"}), "json"
        ),
        _401=lambda w: w.anonymous.post(STANDING, _standing_body(w), "json"),
        _403=lambda w: w.session.post(
            STANDING, _standing_body(w, account=Account.create()), "json"
        ),
        _409=_standing_twice,
        _415=lambda w: text(w.session, STANDING),
        _503=lambda w: (lambda body: not_deployed(lambda: w.session.post(STANDING, body, "json")))(
            _standing_body(w)
        ),
    ),
    *cases(
        "GET /api/v1/orders/standing/{digest}/",
        _200=lambda w: w.session.get(f"{STANDING}{_standing(w)}/"),
        _400=lambda w: w.session.get(f"{STANDING}0x12/"),
        _401=lambda w: w.anonymous.get(f"{STANDING}{UNKNOWN_ID}/"),
        _403=lambda w: w.app_owner.get(f"{STANDING}{_standing(w)}/"),
        _404=lambda w: w.session.get(f"{STANDING}{UNKNOWN_ID}/"),
    ),
    # ------------------------------------------------------------------ your wallets' funds
    *cases(
        "GET /api/v1/wallets/",
        _200=lambda w: w.session.get("/api/v1/wallets/"),
        _401=lambda w: w.anonymous.get("/api/v1/wallets/"),
    ),
    *[
        case
        for method in ("put", "patch")
        for case in cases(
            f"{method.upper()} /api/v1/wallets/{{address}}/caps/",
            _200=lambda w, m=method: getattr(w.session, m)(
                _caps(w), {"daily": "10", "per_deal": None}, "json"
            ),
            _400=lambda w, m=method: getattr(w.session, m)(
                _caps(w), {"daily": "-1", "per_deal": None}, "json"
            ),
            _401=lambda w, m=method: getattr(w.anonymous, m)(_caps(w), {}, "json"),
            _403=lambda w, m=method: getattr(w.session, m)(
                _caps(w, Account.create().address), {"daily": "1", "per_deal": "1"}, "json"
            ),
            _415=lambda w, m=method: getattr(w.session, m)(
                _caps(w), "plain words", content_type="text/plain"
            ),
        )
    ],
    # ------------------------------------------------------------------ a provider's tools
    *cases(
        "POST /offers/{kind}/{slug}/register/",
        _200=_register,
        _400=lambda w: _register(w, sender="me"),
        _403=lambda w: w.session.post(
            _offers(_others_listing(w), "register"), {"sender": w.market.requester.address}, "json"
        ),
        _404=lambda w: w.session.post(_offers(None, "register"), {}, "json"),
        _415=lambda w: text(w.session, _offers(_buyers_listing(w), "register")),
        _503=lambda w: node_down(lambda: _register(w)),
    ),
    *cases(
        "POST /offers/{kind}/{slug}/registered/",
        _200=lambda w: w.session.post(
            _offers(_buyers_listing(w, listing__chain_address=w.market.workerpool), "registered")
        ),
        _400=lambda w: w.session.post(_offers(_buyers_listing(w), "registered")),
        _403=lambda w: w.anonymous.post(_offers(_buyers_listing(w), "registered")),
        _404=lambda w: w.session.post(_offers(None, "registered")),
        _503=lambda w: node_down(lambda: w.session.post(_offers(_buyers_listing(w), "registered"))),
    ),
    *cases(
        "POST /offers/{kind}/{slug}/sell/",
        _200=lambda w: _sell(w, {"volume": "5", "price": "1"}),
        _400=lambda w: _sell(w, {"volume": "0", "price": "1"}),
        _403=lambda w: w.session.post(_offers(_others_listing(w), "sell"), {"volume": "5"}),
        _404=lambda w: w.session.post(_offers(None, "sell"), {"volume": "5"}),
        _415=lambda w: _sell(w, {"volume": "5", "price": "1"}, "json"),
    ),
    # ------------------------------------------------------------------ workers
    *cases(
        "POST /api/v1/workers/work/",
        _200=lambda w: w.worker.post("/api/v1/workers/work/", {"pool": w.market.app}, "json"),
        _201=lambda w: w.worker.post(
            "/api/v1/workers/work/", {"pool": w.market.workerpool}, "json"
        ),
        _400=lambda w: w.worker.post("/api/v1/workers/work/", {"pool": "mine"}, "json"),
        _401=lambda w: w.anonymous.post("/api/v1/workers/work/", {}, "json"),
        _403=lambda w: w.session.post("/api/v1/workers/work/", {}, "json"),
        _415=lambda w: text(w.worker, "/api/v1/workers/work/"),
        _429=lambda w: throttled(
            lambda: w.worker.post("/api/v1/workers/work/", {}, "json"), w.worker
        ),
    ),
    *cases(
        "GET /api/v1/workers/pools/{address}/",
        _200=lambda w: w.worker.get(f"/api/v1/workers/pools/{w.market.workerpool}/"),
        _400=lambda w: w.worker.get("/api/v1/workers/pools/pool-a/"),
        _401=lambda w: w.anonymous.get(f"/api/v1/workers/pools/{w.market.workerpool}/"),
        _403=lambda w: w.session.get(f"/api/v1/workers/pools/{w.market.workerpool}/"),
        _404=lambda w: w.worker.get(f"/api/v1/workers/pools/{w.market.app}/"),
        _503=lambda w: node_down(lambda: w.worker.get(f"/api/v1/workers/pools/{w.market.app}/")),
        _429=lambda w: throttled(
            lambda: w.worker.get(f"/api/v1/workers/pools/{w.market.workerpool}/"), w.worker
        ),
    ),
    *cases(
        "POST /api/v1/workers/pools/{address}/apply/",
        _200=lambda w: w.worker.post(_apply(w), {"note": "4 cores"}, "json"),
        _400=lambda w: w.worker.post(_apply(w), {"note": "x" * 301}, "json"),
        _401=lambda w: w.anonymous.post(_apply(w), {}, "json"),
        _403=lambda w: w.browser.post(_apply(w), {}, "json"),
        _404=lambda w: w.worker.post(f"/api/v1/workers/pools/{w.market.app}/apply/", {}, "json"),
        _503=lambda w: node_down(
            lambda: w.worker.post(f"/api/v1/workers/pools/{w.market.app}/apply/", {}, "json")
        ),
        _409=lambda w: (
            PoolMember.objects.update(status=MemberStatus.REMOVED),
            w.worker.post(_apply(w), {}, "json"),
        )[-1],
        _415=lambda w: text(w.worker, _apply(w)),
        _429=lambda w: throttled(lambda: w.worker.post(_apply(w), {}, "json"), w.worker),
    ),
    *cases(
        "GET /api/v1/workers/memberships/",
        _200=lambda w: w.worker.get("/api/v1/workers/memberships/"),
        _401=lambda w: w.anonymous.get("/api/v1/workers/memberships/"),
        _403=lambda w: w.session.get("/api/v1/workers/memberships/"),
        _429=lambda w: throttled(lambda: w.worker.get("/api/v1/workers/memberships/"), w.worker),
    ),
    *cases(
        "GET /api/v1/workers/replicates/{id}/",
        _200=lambda w: w.worker.get(_replicate(w)),
        _401=lambda w: w.anonymous.get(_replicate(w)),
        _403=lambda w: w.session.get(_replicate(w)),
        _404=lambda w: w.worker.get("/api/v1/workers/replicates/999999/"),
        _429=lambda w: (lambda path: throttled(lambda: w.worker.get(path), w.worker))(
            _replicate(w)
        ),
    ),
    *cases(
        "GET /api/v1/workers/replicates/{id}/dataset-key/",
        _200=lambda w: w.worker.get(_replicate(w, "dataset-key/")),
        _401=lambda w: w.anonymous.get(_replicate(w, "dataset-key/")),
        _403=lambda w: w.worker.get(
            f"/api/v1/workers/replicates/{w.failed_replicate()}/dataset-key/"
        ),
        _404=lambda w: w.worker.get("/api/v1/workers/replicates/999999/dataset-key/"),
        _429=lambda w: (lambda path: throttled(lambda: w.worker.get(path), w.worker))(
            _replicate(w, "dataset-key/")
        ),
    ),
    *cases(
        "POST /api/v1/workers/replicates/{id}/heartbeat/",
        _200=lambda w: w.worker.post(_replicate(w, "heartbeat/"), {"percent": 40}, "json"),
        _400=lambda w: w.worker.post(_replicate(w, "heartbeat/"), {"percent": 400}, "json"),
        _401=lambda w: w.anonymous.post(_replicate(w, "heartbeat/"), {}, "json"),
        _403=lambda w: w.session.post(_replicate(w, "heartbeat/"), {}, "json"),
        _404=lambda w: w.worker.post("/api/v1/workers/replicates/999999/heartbeat/", {}, "json"),
        _415=lambda w: text(w.worker, _replicate(w, "heartbeat/")),
        _429=lambda w: (lambda path: throttled(lambda: w.worker.post(path, {}, "json"), w.worker))(
            _replicate(w, "heartbeat/")
        ),
    ),
    *cases(
        "POST /api/v1/workers/replicates/{id}/result/",
        _200=lambda w: _upload(w, w.replicate()),
        _400=lambda w: w.worker.post(_replicate(w, "result/"), {"digest": "0x12"}),
        _401=lambda w: w.anonymous.post(_replicate(w, "result/"), {}),
        _403=lambda w: w.session.post(_replicate(w, "result/"), {}),
        _404=lambda w: w.worker.post("/api/v1/workers/replicates/999999/result/", {}),
        _409=lambda w: _upload(w, w.failed_replicate()),
        _415=lambda w: w.worker.post(_replicate(w, "result/"), {"digest": "0x12"}, "json"),
        _429=lambda w: (lambda path: throttled(lambda: w.worker.post(path, {}), w.worker))(
            _replicate(w, "result/")
        ),
    ),
    *cases(
        "POST /api/v1/workers/replicates/{id}/report/",
        _200=lambda w: w.worker.post(
            _replicate(w, "report/"), {"event": "failed", "reason": "out of memory"}, "json"
        ),
        _400=lambda w: w.worker.post(_replicate(w, "report/"), {"event": "done"}, "json"),
        _401=lambda w: w.anonymous.post(_replicate(w, "report/"), {}, "json"),
        _403=lambda w: w.session.post(_replicate(w, "report/"), {}, "json"),
        _404=lambda w: w.worker.post("/api/v1/workers/replicates/999999/report/", {}, "json"),
        _409=lambda w: w.worker.post(_replicate(w, "report/"), {"event": "contributed"}, "json"),
        _415=lambda w: w.worker.post(_replicate(w, "report/"), {"event": "failed"}),
        _429=lambda w: (lambda path: throttled(lambda: w.worker.post(path, {}, "json"), w.worker))(
            _replicate(w, "report/")
        ),
    ),
]


# ---------------------------------------------------------------------------- the tests


def test_every_documented_status_has_a_case_and_every_case_is_documented():
    schema = api_schema()
    covered = {(case.operation, case.status) for case in CASES}

    assert sorted(documented(schema) - covered) == [], "documented, but no case produces it"
    assert sorted(covered - documented(schema)) == [], "a case of a status not documented"


def test_cases_are_named_once():
    named = [(case.operation, case.status) for case in CASES]

    assert len(named) == len(set(named))


@pytest.mark.django_db
def test_the_api_answers_as_its_schema_says(world):
    schema = api_schema()
    problems = []
    for case in CASES:
        django_cache.clear()
        with transaction.atomic():
            try:
                response = case.call(world)
            except Exception as error:  # every case is reported, then the test fails
                problems.append(f"{case}: raised {error!r}")
            else:
                problems += [
                    f"{case}: {problem}" for problem in answer_problems(schema, case, response)
                ]
            transaction.set_rollback(True)

    assert not problems, "\n".join(problems)


# Values to try in every query parameter: each must be refused (400) exactly when the schema
# does not allow it. Valid ones of each kind of parameter, and the ways to be wrong.
CANDIDATES = [
    *["", " ", "0", "1", "2", "4", "16", "62", "63", "-1", "01", "+1", "1.5", "2.123456789"],
    *["2.1234567891", "1e3", "1e999999999", "9" * 40, "²", "①", "\u0661", "abc", "a b", "gpu"],
    *["x" * 300, "\x00", "tee", "tee,3", "TEE", "tee,", "0x" + "ab" * 20, "0x" + "AB" * 20],
    *["0x12", "eu-west", "europe", "A", "newest", "cheapest", "app", "pool", "open", "public"],
    *["day", "2025-03-01", "2025-03-01T12:00:00Z"],
]


@pytest.mark.django_db
def test_query_parameters_take_exactly_what_the_schema_allows():
    schema = api_schema()
    client = APIClient()
    problems = []
    for name, operation in operations(schema):
        method, path = name.split(" ", 1)
        parameters = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        if method != "GET" or not parameters:
            continue
        # Required ones take a valid value while another is tried: pool lists take every filter.
        required = {p["name"]: "pool" for p in parameters if p.get("required")}
        for parameter in parameters:
            accepted = None
            for value in CANDIDATES:
                query = QueryDict(mutable=True)
                query.update({**required, parameter["name"]: value})
                allowed = not query_problems(schema, operation, query)
                response = client.get(path, query)
                if response.status_code not in ((200, 404) if allowed else (400,)):
                    problems.append(
                        f"{name} {parameter['name']}={value[:40]!r}: the schema "
                        f"{'allows' if allowed else 'refuses'} it, the server answered "
                        f"{response.status_code}: {response.content[:200]!r}"
                    )
                if allowed and accepted is None:
                    accepted = value
            if accepted is None:
                problems.append(f"{name} {parameter['name']}: no candidate value is valid")
                continue
            query = QueryDict(mutable=True)
            query.update(required)
            query.setlist(parameter["name"], [accepted, accepted])
            if client.get(path, query).status_code != 400:
                problems.append(f"{name} {parameter['name']} given twice is not refused")

    assert not problems, "\n".join(problems)
