"""What a wallet's funds are read from, as the indexer and the book write them: escrow accounts,
pools' assets (their stake ratio), and book orders that spend (standing requests) or need stake
(pool offers); and the spending caps its owner sets."""

from __future__ import annotations

import factory
from eth_account import Account

from marketplace.chain.ids import Market
from marketplace.indexer.models import Asset, EscrowAccount, OrderKind
from marketplace.orders.models import Order, OrderStatus, SpendingCap
from tests.factories.accounts import WalletFactory


def _address() -> str:
    return Account.create().address


class EscrowAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EscrowAccount

    chain_id = 31337
    block_number = 1
    address = factory.LazyFunction(_address)
    stake = 0
    locked = 0


class PoolAssetFactory(factory.django.DjangoModelFactory):
    """A workerpool registered on chain with the default 30 % worker stake ratio."""

    class Meta:
        model = Asset

    chain_id = 31337
    address = factory.LazyFunction(_address)
    kind = Market.POOL
    owner = factory.LazyFunction(_address)
    name = "A pool"
    registered_block = 1
    block_number = 1
    worker_stake_ratio = 30


class BookOrderFactory(factory.django.DjangoModelFactory):
    """An open order of the book, none of its volume consumed; a standing request with
    `kind=OrderKind.REQUEST` and `expires_at`."""

    class Meta:
        model = Order

    chain_id = 31337
    hub = "0x" + "11" * 20
    digest = factory.Sequence(lambda n: f"0x{n + (1 << 240):064x}")
    kind = OrderKind.WORKERPOOL
    asset = factory.LazyFunction(_address)
    signer = factory.LazyFunction(_address)
    price = 1
    volume = 1
    consumed = 0
    remaining = factory.LazyAttribute(lambda order: order.volume - order.consumed)
    tag = "0x" + "0" * 64
    message = factory.LazyFunction(dict)
    status = OrderStatus.OPEN


class SpendingCapFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SpendingCap

    wallet = factory.SubFactory(WalletFactory)
    daily = None
    per_deal = None
