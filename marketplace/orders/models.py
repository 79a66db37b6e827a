"""The off-chain order book: orders their owners signed (or presigned on chain) and published
here, so that buyers find them without asking the chain.

An order is identified by its EIP-712 digest on this chain and Hub, like on chain. Its typed
fields are kept as the owner signed them (`message`, the `eth_signTypedData_v4` message), and
the fields the book is searched by are copied into columns. `status` follows the chain through
`orders_refresh` (marketplace.orders.services), run by the indexer on every batch (a
reorganization may take a match or a close back, and the order with it):

- open: valid, and its signer's escrow covers what the Hub would lock;
- filled: the chain consumed its whole volume;
- cancelled: taken off the book by its signer (`unpublished`), or closed on chain;
- dead: its asset changed owner, or the escrow no longer covers it (it comes back to open when
  the cause goes away: the signature is still good).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from marketplace.indexer.fields import Units
from marketplace.indexer.models import OrderKind


class OrderStatus(models.TextChoices):
    OPEN = "open", "Open"
    FILLED = "filled", "Filled"
    CANCELLED = "cancelled", "Cancelled"
    DEAD = "dead", "Dead"


class Order(models.Model):
    chain_id = models.PositiveBigIntegerField()
    hub = models.CharField(max_length=42, help_text="The Hub (EIP-712 verifying contract).")
    digest = models.CharField(max_length=66, help_text="EIP-712 digest: the order's id.")
    kind = models.CharField(max_length=10, choices=OrderKind.choices)
    asset = models.CharField(
        max_length=42, help_text="The app, dataset or workerpool sold; a request's app."
    )
    signer = models.CharField(
        max_length=42, help_text="The asset's owner, or the requester, who signed."
    )
    price = Units(help_text="Per task, ECT base units; a request's total of its max prices.")
    # A request's signed max price for each part (the book's depth groups requests by them);
    # 0 on offers.
    app_max_price = Units(help_text="A request's appmaxprice, ECT base units.")
    dataset_max_price = Units(help_text="A request's datasetmaxprice, ECT base units.")
    workerpool_max_price = Units(help_text="A request's workerpoolmaxprice, ECT base units.")
    volume = models.PositiveBigIntegerField()
    consumed = models.PositiveBigIntegerField(default=0)
    remaining = models.PositiveBigIntegerField()
    tag = models.CharField(max_length=66)
    tag_bits = models.BigIntegerField(default=0, help_text="Tag bits 0 to 62, for filtering.")
    category = models.PositiveIntegerField(null=True, help_text="Workerpool and request orders.")
    trust = models.PositiveBigIntegerField(null=True, help_text="Workerpool and request orders.")
    dataset = models.CharField(max_length=42, blank=True, help_text="A request's dataset.")
    workerpool = models.CharField(max_length=42, blank=True, help_text="A request's pool.")
    app_restrict = models.CharField(max_length=42, blank=True)
    dataset_restrict = models.CharField(max_length=42, blank=True)
    workerpool_restrict = models.CharField(max_length=42, blank=True)
    requester_restrict = models.CharField(max_length=42, blank=True)
    message = models.JSONField(help_text="The typed-data message, as signed.")
    signature = models.CharField(max_length=132, blank=True, help_text="Empty: presigned.")
    status = models.CharField(max_length=10, choices=OrderStatus.choices)
    unpublished = models.BooleanField(
        default=False, help_text="Taken off the book by its signer (status cancelled)."
    )
    status_reason = models.CharField(max_length=300, blank=True)
    requirements = models.JSONField(
        default=dict,
        blank=True,
        help_text="A standing request's requirements of pools (the buy form's fields).",
    )
    preferences = models.JSONField(
        default=dict, blank=True, help_text="A standing request's weights, and their preset."
    )
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="A standing request: when it leaves the book."
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["price", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "digest"], name="order_unique"),
        ]
        indexes = [
            # The book's two hot reads, straight off partial indexes of open orders: the offers
            # of one asset by price, and the pool offers of a category by price.
            models.Index(
                fields=["chain_id", "kind", "asset", "price", "created_at"],
                name="order_open_by_asset",
                condition=Q(status="open"),
            ),
            models.Index(
                fields=["chain_id", "kind", "category", "price", "created_at"],
                name="order_open_by_category",
                condition=Q(status="open"),
            ),
            # The bids of the depth charts (orders.depth): the open requests that would take
            # an app, a dataset or a category's pools, by the max price each accepts for that
            # part, and what the grouping reads of them, so that the dearest levels come off
            # the index in order, however many requests the book holds.
            *(
                models.Index(
                    fields=[
                        "chain_id",
                        "kind",
                        target,
                        max_price,
                        *also,
                        "remaining",
                        "expires_at",
                        "status",
                    ],
                    name=f"order_open_bids_by_{name}",
                    condition=Q(status="open"),
                )
                for name, target, max_price, also in (
                    ("app", "asset", "app_max_price", ()),
                    ("dataset", "dataset", "dataset_max_price", ()),
                    ("category", "category", "workerpool_max_price", ("workerpool",)),
                )
            ),
            models.Index(fields=["chain_id", "kind", "price", "created_at"], name="order_by_price"),
            models.Index(
                fields=["chain_id", "status", "price", "created_at", "id"], name="order_book_page"
            ),
            models.Index(fields=["chain_id", "signer"], name="order_by_signer"),
            models.Index(fields=["chain_id", "asset", "status"], name="order_by_asset"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.digest[:10]}"


class InputFile(models.Model):
    """A file a buyer uploaded for its tasks (POST /api/v1/orders/inputs/), served at
    /inputs/<token>/<name>: a request's params name it by that URL.

    It counts against its owner's quota (INPUT_QUOTA_BYTES, INPUT_QUOTA_FILES) until its owner
    deletes it, or until the input clean-up does (`inputs_clean`): INPUT_RETENTION_DAYS after its
    upload, once no deal whose tasks may still run and no open request names it.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="input_files"
    )
    token = models.CharField(max_length=32, unique=True, help_text="Random; its URL's folder.")
    name = models.CharField(max_length=100, help_text="Its file name, made safe.")
    size = models.PositiveBigIntegerField(help_text="Bytes.")
    client_ip = models.GenericIPAddressField(
        null=True, blank=True, help_text="Where it was uploaded from: a network's quota."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "created_at"], name="input_by_owner"),
            models.Index(fields=["created_at"], name="input_by_age"),
            models.Index(fields=["client_ip"], name="input_by_network"),
        ]

    def __str__(self) -> str:
        return f"input {self.name} ({self.token})"

    @property
    def path(self) -> str:
        """Where the file is in the default storage."""
        return f"inputs/{self.token}/{self.name}"


class DemandSample(models.Model):
    """A request a buyer asked the market (a quote): what pools see of demand. Operators check
    their Requirements against the latest ones (DEMAND_SAMPLES are kept). A buyer's asks within
    DEMAND_MERGE_SECONDS of each other are one request, the latest (matching.demand_record)."""

    chain_id = models.PositiveBigIntegerField()
    requester = models.CharField(max_length=42, blank=True, help_text="Who asked.")
    request = models.JSONField(help_text="The request's ad: its attributes.")
    requirements = models.JSONField(
        default=dict, help_text="The buyer's requirements (the buy form's fields)."
    )
    app_requirement = models.TextField(blank=True, help_text="What its app requires of pools.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["chain_id", "-created_at"], name="demand_by_age"),
            models.Index(fields=["chain_id", "requester", "-created_at"], name="demand_by_buyer"),
        ]

    def __str__(self) -> str:
        return f"demand {self.pk}"


class MatchStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    CONFIRMED = "confirmed", "Confirmed"
    FAILED = "failed", "Failed"


# A match whose outcome the chain has not told yet: no other is sent for its request meanwhile.
UNRESOLVED = (MatchStatus.PENDING, MatchStatus.SENT)


class StandingMatch(models.Model):
    """One matchOrders the matcher decided to send for a standing request (marketplace.orders.
    standing), written and committed before it is sent.

    - pending: written; the transaction is being sent, or the process stopped before it knew;
    - sent: sending failed without an answer (the node did not answer, or the transaction was
      not mined in time): it may still be mined;
    - confirmed: the request's deal `dealid` is on chain;
    - failed: nothing was matched (the chain refused it, or it was never mined).

    The deal a match makes is known before it is sent: the Hub names it after the request's
    digest and its consumed volume then (`consumed_before`). While one is pending or sent, no
    other is sent for the request (a unique constraint says so too); the next round resolves it
    from the chain first.
    """

    chain_id = models.PositiveBigIntegerField()
    request = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="standing_matches")
    request_digest = models.CharField(max_length=66)
    app_order = models.CharField(max_length=66)
    dataset_order = models.CharField(max_length=66, blank=True)
    workerpool_order = models.CharField(max_length=66)
    volume = models.PositiveBigIntegerField(help_text="Tasks the match takes.")
    consumed_before = models.PositiveBigIntegerField(
        help_text="The request's consumed volume on chain when the match was decided."
    )
    dealid = models.CharField(max_length=66, help_text="The deal the match makes.")
    tx_hash = models.CharField(max_length=66, blank=True)
    status = models.CharField(max_length=10, choices=MatchStatus.choices)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"],
                condition=Q(status__in=["pending", "sent"]),
                name="standing_match_one_unresolved",
            ),
        ]
        indexes = [
            models.Index(fields=["chain_id", "status"], name="standing_match_by_status"),
        ]

    def __str__(self) -> str:
        return f"match of {self.request_digest[:10]} ({self.status})"


class SpendingCap(models.Model):
    """What a linked wallet may spend through the site: at most `per_deal` on one purchase or
    standing request, and at most `daily` within any 24 hours (None: no such cap). The site
    checks them before it builds a request the wallet would pay for (marketplace.orders.caps);
    the chain knows nothing of them. Gone with the wallet's link."""

    wallet = models.OneToOneField(
        "wallets.Wallet", on_delete=models.CASCADE, related_name="spending_cap"
    )
    daily = Units(null=True, blank=True, default=None, help_text="ECT base units; empty: none.")
    per_deal = Units(null=True, blank=True, default=None, help_text="ECT base units; empty: none.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"spending cap of {self.wallet_id}"
