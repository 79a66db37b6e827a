"""The price charts of the pages: a listing's (its asset's price history and depth) and the
market's per category, drawn on the server (marketplace.charts) with the links that switch
them (by hour or by day, and a pool's or the market's category) as plain links, so that they
work without JavaScript.

The page's query says what to show: `prices` (hour or day; day by default) and `category` (a
category id, for pools and the market). Anything else is refused: PricesRefused (400) for a
bucket it does not know, NotFound (404) for a category the Hub does not have.
"""

from __future__ import annotations

import dataclasses
import datetime
from html import escape

from django.http import QueryDict
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from marketplace import charts
from marketplace.catalogue.models import Listing
from marketplace.chain.amounts import ECT_DECIMALS, format_amount, from_units
from marketplace.chain.orders import checksummed
from marketplace.errors import NotFound
from marketplace.indexer import prices
from marketplace.indexer.models import Market, OrderKind
from marketplace.orders import depth
from marketplace.orders.models import Order, OrderStatus
from marketplace.orders.selectors import category_names
from marketplace.prepared import Prepared

UNIT = "ECT per task"
# The depth table under the chart lists the best prices of each side, as a book's page does:
# a busy book has hundreds, which the chart draws and the API gives.
DEPTH_TABLE_ROWS = 20
_BUCKET_LABELS = {prices.DAY: "By day", prices.HOUR: "By hour"}
_WINDOW_WORDS = {prices.DAY: "the last 30 days", prices.HOUR: "the last 48 hours"}
_ECT_UNIT = 10**ECT_DECIMALS


def ect(units: int) -> str:
    """Base units as ECT without the unit, as the charts' axes write them: "1.5"."""
    return format_amount(from_units(units, decimals=ECT_DECIMALS))


def ect_text(units: int) -> str:
    """Base units as the site's pages write a price: "0.25 ECT" (frontend's ect_units), in
    integer arithmetic (the tables write hundreds)."""
    whole, fraction = divmod(int(units), _ECT_UNIT)
    if not fraction:
        return f"{whole} ECT"
    return f"{whole}.{fraction:0{ECT_DECIMALS}d}".rstrip("0") + " ECT"


def _table_rows(rows) -> SafeString:
    """Table rows of a first cell then numeric ones, each value escaped."""
    numeric = '</td><td class="num">'
    return mark_safe(  # noqa: S308 -- every value is escaped here
        "".join(
            f'<tr><td>{escape(str(first))}</td><td class="num">'
            + numeric.join(escape(str(value)) for value in values)
            + "</td></tr>"
            for first, *values in rows
        )
    )


@dataclasses.dataclass(frozen=True)
class Link:
    label: str
    href: str
    current: bool


@dataclasses.dataclass(frozen=True)
class PriceCharts:
    """What the price section of a page shows: the history of `window` and the depth now,
    drawn (`history_svg`, `depth_svg`: "" when there is nothing to draw), and the links to
    the other buckets and categories."""

    window: prices.Window
    series: prices.PriceSeries
    depth: depth.Depth
    history_svg: str
    depth_svg: str
    buckets: list[Link]
    categories: list[Link]
    category: str  # the category shown ("" for an app or a dataset: any)

    @property
    def window_words(self) -> str:
        return _WINDOW_WORDS[self.window.bucket]

    @property
    def offer_rows(self) -> list[depth.DepthLevel]:
        """The cheapest prices on offer, as many as the page's table lists."""
        return self.depth.offers[:DEPTH_TABLE_ROWS]

    @property
    def bid_rows(self) -> list[depth.DepthLevel]:
        """The dearest prices asked, as many as the page's table lists."""
        return self.depth.bids[:DEPTH_TABLE_ROWS]

    @property
    def depth_rows_cut(self) -> bool:
        """Whether the table lists fewer prices than the chart draws (the API has them all)."""
        return max(len(self.depth.offers), len(self.depth.bids)) > DEPTH_TABLE_ROWS

    # The tables of numbers under the charts are the largest loops of a listing page: their
    # rows are written here in one pass, each value escaped, rather than cell by cell by the
    # template (a third of the page's rendering).

    @property
    def history_rows(self) -> SafeString:
        """The rows of the history's table: bucket (UTC), median, lowest, highest, deals, tasks."""
        label = "%Y-%m-%d %H:%M" if self.window.bucket == prices.HOUR else "%Y-%m-%d"
        zone = timezone.get_current_timezone()
        return _table_rows(
            (
                point.start.astimezone(zone).strftime(label),
                ect_text(point.median),
                ect_text(point.low),
                ect_text(point.high),
                point.deals,
                point.tasks,
            )
            for point in self.series.points
        )

    @property
    def depth_rows(self) -> SafeString:
        """The rows of the depth's table: the offered prices listed, then the asked ones."""
        return _table_rows(
            (
                (side, ect_text(level.price), level.tasks, level.orders)
                for side, levels in (("Offered", self.offer_rows), ("Asked", self.bid_rows))
                for level in levels
            )
        )


def _query_link(query: QueryDict, path: str, **changes: str) -> str:
    changed = query.copy()
    for name, value in changes.items():
        changed[name] = value
    return f"{path}?{changed.urlencode()}#prices"


def _asked(query: QueryDict, name: str) -> str | None:
    values = query.getlist(name)
    if len(values) > 1:
        raise prices.PricesRefused(
            f"{name} is given {len(values)} times: give it once.", field=name
        )
    return values[0] if values else None


def chart_category(query: QueryDict, *, chain_id: int, default: int) -> tuple[int, dict[int, str]]:
    """The category the query asks (`default` when none) and the Hub's categories by id;
    NotFound for a category it does not have."""
    names = category_names(chain_id=chain_id)
    asked = _asked(query, "category")
    if asked is None:
        return (default if default in names else min(names)), names
    if not asked.isascii() or not asked.isdigit() or int(asked) not in names:
        known = ", ".join(f"{catid} ({name})" for catid, name in sorted(names.items()))
        raise NotFound(
            f"The Hub has no category {asked[:20]!r}: choose one of {known}.", field="category"
        )
    return int(asked), names


def _window(query: QueryDict, now: datetime.datetime) -> prices.Window:
    bucket = _asked(query, "prices") or prices.DAY
    if bucket not in prices.BUCKETS:  # said in the page's own words: its query is `prices`
        raise prices.PricesRefused(
            f"prices must be one of {', '.join(prices.BUCKETS)}, not {bucket[:40]!r}.",
            field="prices",
        )
    return prices.price_window(bucket=bucket, now=now)


def _charts(
    *,
    query: QueryDict,
    path: str,
    window: prices.Window,
    series: prices.PriceSeries,
    book: depth.Depth,
    title: str,
    category: int | None = None,
    names: dict[int, str] | None = None,
) -> PriceCharts:
    return PriceCharts(
        window=window,
        series=series,
        depth=book,
        history_svg=charts.price_history_svg(
            series.points,
            since=window.since,
            until=window.until,
            step=window.step,
            money=ect,
            unit=UNIT,
            chart_id="prices-history",
            title=f"Prices of {title} by {window.bucket}, {_WINDOW_WORDS[window.bucket]}",
        ),
        depth_svg=charts.depth_svg(
            book.offers,
            book.bids,
            money=ect,
            unit=UNIT,
            chart_id="prices-depth",
            title=f"Tasks of {title} on offer and asked for now",
        ),
        buckets=[
            Link(label, _query_link(query, path, prices=bucket), bucket == window.bucket)
            for bucket, label in _BUCKET_LABELS.items()
        ],
        categories=[
            Link(name, _query_link(query, path, category=str(catid)), catid == category)
            for catid, name in sorted((names or {}).items())
        ],
        category=(names or {}).get(category, "") if category is not None else "",
    )


_first_category = Prepared(
    lambda chain_id, workerpool: Order.objects.filter(
        chain_id=chain_id, kind=OrderKind.WORKERPOOL, asset=workerpool, status=OrderStatus.OPEN
    )
    .order_by("category")
    .values_list("category", flat=True)[:1]
)


def _first_offered_category(*, chain_id: int, workerpool: str) -> int:
    """The lowest category a pool has an open offer of (0 when none): what its page shows
    first."""
    first = _first_category(chain_id=chain_id, workerpool=workerpool)
    return (first[0] if first else None) or 0


def listing_price_charts(
    *, listing: Listing, query: QueryDict, chain_id: int, now: datetime.datetime
) -> PriceCharts:
    """The price section of a listing's page: the history and depth of its asset (a pool's of
    one category), empty when it is not on chain."""
    window = _window(query, now)
    kind = str(listing.kind)
    address = checksummed(listing.chain_address.lower()) if listing.chain_address else ""
    category, names = None, None
    if Market(kind).order_kind == OrderKind.WORKERPOOL:
        default = _first_offered_category(chain_id=chain_id, workerpool=address) if address else 0
        category, names = chart_category(query, chain_id=chain_id, default=default)
    if address:
        series = prices.asset_price_series(
            chain_id=chain_id, kind=kind, address=address, window=window, category=category
        )
        book = depth.asset_depth(
            chain_id=chain_id, kind=kind, address=address, now=now, category=category
        )
    else:
        series, book = prices.PriceSeries(window=window, points=[]), depth.Depth([], [])
    title = listing.name if category is None else f"{listing.name}, {names[category]} tasks"
    return _charts(
        query=query,
        path=listing.get_absolute_url(),
        window=window,
        series=series,
        book=book,
        title=title,
        category=category,
        names=names,
    )


@dataclasses.dataclass(frozen=True)
class CategoryLine:
    """One category in the market overview's table: its trades in the window and its book."""

    catid: int
    name: str
    deals: int
    tasks: int
    last_median: int | None
    cheapest_offer: int | None
    best_bid: int | None
    href: str
    current: bool


@dataclasses.dataclass(frozen=True)
class MarketOverview:
    charts: PriceCharts
    lines: list[CategoryLine]


def market_overview(
    *, query: QueryDict, path: str, chain_id: int, now: datetime.datetime
) -> MarketOverview:
    """The market of every category (the pools' prices: trades in the window, the cheapest
    offer and the best bid now), and the charts of the category the query asks (XS first)."""
    window = _window(query, now)
    category, names = chart_category(query, chain_id=chain_id, default=0)
    lines, market = [], {}
    for catid, name in sorted(names.items()):
        series = prices.category_price_series(chain_id=chain_id, category=catid, window=window)
        book = depth.category_depth(chain_id=chain_id, category=catid, now=now)
        market[catid] = (series, book)
        lines.append(
            CategoryLine(
                catid=catid,
                name=name,
                deals=series.deals,
                tasks=series.tasks,
                last_median=series.points[-1].median if series.points else None,
                cheapest_offer=book.offers[0].price if book.offers else None,
                best_bid=book.bids[0].price if book.bids else None,
                href=_query_link(query, path, category=str(catid)),
                current=catid == category,
            )
        )
    series, book = market[category]
    return MarketOverview(
        charts=_charts(
            query=query,
            path=path,
            window=window,
            series=series,
            book=book,
            title=f"{names[category]} tasks, market-wide",
            category=category,
            names=names,
        ),
        lines=lines,
    )
