"""Order signatures as the Hub checks them: 65-byte, 64-byte (EIP-2098) and ERC-1271 contract
signers, in verifySignature and in matchOrders; the Hub's digests equal ours
(orders.order_digest); and what MetaMask signs (@metamask/eth-sig-util signTypedData V4, run in
node) verifies on chain."""

from __future__ import annotations

import pytest

from marketplace.chain import artifacts
from marketplace.chain.orders import (
    OrderOperation,
    operation_typed_data,
    sign_digest,
    to_compact_signature,
    typed_data,
)
from tests.chain_scaffold import (
    DEPOSIT,
    KINDS,
    REQUEST,
    SIGNED_EVENTS,
    deploy_test_contract,
    metamask_sign,
    open_market,
)

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
WALLET_SOURCE = ("OwnedWallet.sol", "OwnedWallet")


@pytest.fixture(scope="module")
def market(anvil, w3, hub_deployment, dev_accounts):
    with open_market(w3, hub_deployment, dev_accounts) as opened:
        yield opened


@pytest.fixture
def wallet_key(dev_accounts):
    """The key behind the ERC-1271 wallet (a dev account no market role uses)."""
    return dev_accounts[8]


@pytest.fixture
def wallet(chain, market, wallet_key):
    """An ERC-1271 contract wallet whose signatures are wallet_key's."""
    return deploy_test_contract(market, market.hub_owner, *WALLET_SOURCE, wallet_key.address)


def _verify(market, signer, digest, signature):
    return market.hub.functions.verifySignature(signer, digest, signature).call()


def _high_s(signature):
    """The malleable twin (r, n - s, v ^ 1) of a 65-byte signature: same signer for ecrecover."""
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    return r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])


# ---------------------------------------------------------------------------- digests


@pytest.mark.parametrize("kind", list(KINDS))
def test_hub_presigns_each_order_under_the_python_digest(chain, market, kind):
    order = market.orders().of(kind)

    receipt = market.manage(order, OrderOperation.SIGN)

    digest = market.digest(order)
    assert market.events(receipt, SIGNED_EVENTS[type(order)]) == [{f"{kind}Hash": digest}]
    assert market.hub.functions.viewPresigned(digest).call() == market.owner_of(order).address


def test_orders_matched_carries_the_python_digests_of_the_four_orders(chain, market):
    orders = market.orders()

    receipt = market.match(orders)

    (matched,) = market.events(receipt, "OrdersMatched")
    assert [
        matched["appHash"],
        matched["datasetHash"],
        matched["workerpoolHash"],
        matched["requestHash"],
    ] == [market.digest(order) for order in orders.all()]


# ---------------------------------------------------------------------------- ECDSA


@pytest.mark.parametrize("kind", list(KINDS))
def test_full_65_byte_signature_verifies(market, kind):
    order = market.orders().of(kind)

    assert _verify(market, market.owner_of(order).address, market.digest(order), market.sign(order))


@pytest.mark.parametrize("kind", list(KINDS))
def test_compact_64_byte_signature_verifies(market, kind):
    order = market.orders().of(kind)
    compact = to_compact_signature(market.sign(order))

    assert len(compact) == 64
    assert _verify(market, market.owner_of(order).address, market.digest(order), compact)


def test_match_accepts_compact_signatures_for_all_four_orders(chain, market):
    orders = market.orders()
    signatures = {
        kind: to_compact_signature(market.sign(order))
        for kind, order in zip(KINDS, orders.all(), strict=True)
    }

    market.match(orders, signatures=signatures)

    assert [market.consumed(order) for order in orders.all()] == [1, 1, 1, 1]


def test_signature_with_v_0_or_1_verifies(market):
    order = market.orders().request
    signature = market.sign(order)

    low_v = signature[:64] + bytes([signature[64] - 27])

    assert _verify(market, market.requester.address, market.digest(order), low_v)


def test_malleable_high_s_signature_does_not_verify(market):
    order = market.orders().request

    malleable = _high_s(market.sign(order))

    assert not _verify(market, market.requester.address, market.digest(order), malleable)


@pytest.mark.parametrize("length", [0, 63, 66])
def test_signature_of_another_length_does_not_verify(market, length):
    order = market.orders().request
    signature = (market.sign(order) * 2)[:length]

    assert not _verify(market, market.requester.address, market.digest(order), signature)


def test_signature_by_another_key_does_not_verify(market):
    order = market.orders().request

    signature = market.sign(order, market.stranger)

    assert not _verify(market, market.requester.address, market.digest(order), signature)
    assert _verify(market, market.stranger.address, market.digest(order), signature)


def test_nothing_verifies_for_the_zero_address(market):
    digest = b"\x11" * 32
    garbage = b"\x00" * 64 + b"\x1b"  # recovers to nothing: ecrecover gives zero

    assert not _verify(market, "0x" + "00" * 20, digest, garbage)


def test_match_refuses_a_request_signed_by_another_key(chain, market):
    orders = market.orders()
    signature = market.sign(orders.request, market.stranger)

    refusal = market.refused(
        lambda: market.match(orders, signatures={"request": signature}), orders=orders.all()
    )

    assert (refusal.name, refusal.arguments) == (
        "InvalidSignature",
        {
            "order": REQUEST,
            "digest": market.digest(orders.request),
            "signer": market.requester.address,
        },
    )


# ---------------------------------------------------------------------------- ERC-1271


def test_contract_wallet_signature_verifies_through_erc1271(chain, market, wallet, wallet_key):
    digest = market.digest(market.orders().request)

    by_its_key = sign_digest(digest, wallet_key.key)
    by_another_key = sign_digest(digest, market.stranger.key)

    assert _verify(market, wallet.address, digest, by_its_key)
    assert not _verify(market, wallet.address, digest, by_another_key)
    # The wallet itself accepts only 65-byte signatures.
    assert not _verify(market, wallet.address, digest, to_compact_signature(by_its_key))


def test_request_of_a_contract_wallet_matches_and_the_wallet_pays(
    chain, market, wallet, wallet_key
):
    market.deposit_for(wallet.address, DEPOSIT)
    orders = market.orders(requester=wallet.address, beneficiary=wallet.address)
    signature = sign_digest(market.digest(orders.request), wallet_key.key)

    market.match(orders, signatures={"request": signature})

    assert market.consumed(orders.request) == 1
    stake, locked = market.escrow(wallet.address)
    assert (stake + locked, locked > 0) == (DEPOSIT, True)


def test_app_owned_by_a_contract_wallet_matches_with_its_erc1271_signature(
    chain, market, wallet, wallet_key
):
    registry = market.w3.eth.contract(
        address=market.deployment.app_registry, abi=artifacts.abi("AppRegistry")
    )
    args = [wallet.address, "Wallet app", "WASM", b"http://127.0.0.1/app.wasm", b"\x01" * 32, b""]
    app = registry.functions.predictApp(*args).call()
    market.send(market.hub_owner, registry.encode_abi("createApp", args=args), to=registry.address)
    orders = market.orders(app=app).replace(app=market.app_order(app=app))
    signature = sign_digest(market.digest(orders.app), wallet_key.key)

    market.match(orders, signatures={"app": signature})

    assert market.consumed(orders.app) == 1


def test_match_refuses_a_contract_wallet_request_signed_by_another_key(
    chain, market, wallet, wallet_key
):
    market.deposit_for(wallet.address, DEPOSIT)
    orders = market.orders(requester=wallet.address, beneficiary=wallet.address)
    signature = sign_digest(market.digest(orders.request), market.stranger.key)

    refusal = market.refused(
        lambda: market.match(orders, signatures={"request": signature}),
        orders=orders.all(),
        addresses=[wallet.address],
    )

    assert (refusal.name, refusal.arguments) == (
        "InvalidSignature",
        {"order": REQUEST, "digest": market.digest(orders.request), "signer": wallet.address},
    )


# ---------------------------------------------------------------------------- MetaMask


@pytest.fixture(scope="module")
def metamask(market):
    """One order of each kind, each operation of the request, and what eth-sig-util gives for
    them signed by their owners (one node run)."""
    orders = market.orders()
    cases = {
        kind: (typed_data(orders.of(kind), market.domain), market.owner_of(orders.of(kind)))
        for kind in KINDS
    }
    for operation in OrderOperation:
        cases[operation.name] = (
            operation_typed_data(orders.request, operation, market.domain),
            market.requester,
        )
    payloads = [
        {"data": data, "privateKey": "0x" + bytes(signer.key).hex()}
        for data, signer in cases.values()
    ]
    results = metamask_sign(payloads)
    return orders, dict(zip(cases, results, strict=True))


@pytest.mark.parametrize("kind", list(KINDS))
def test_metamask_digest_is_the_python_digest(market, metamask, kind):
    orders, signed = metamask
    order = orders.of(kind)

    assert signed[kind]["digest"] == "0x" + market.digest(order).hex()


@pytest.mark.parametrize("kind", list(KINDS))
def test_metamask_signature_verifies_on_chain(market, metamask, kind):
    orders, signed = metamask
    order = orders.of(kind)
    signature = bytes.fromhex(signed[kind]["signature"][2:])

    assert _verify(market, market.owner_of(order).address, market.digest(order), signature)


def test_hub_matches_the_four_orders_signed_by_metamask(chain, market, metamask):
    orders, signed = metamask
    signatures = {kind: bytes.fromhex(signed[kind]["signature"][2:]) for kind in KINDS}

    receipt = market.match(orders, signatures=signatures)

    (matched,) = market.events(receipt, "OrdersMatched")
    assert matched["requestHash"] == market.digest(orders.request)
    assert [market.consumed(order) for order in orders.all()] == [1, 1, 1, 1]


@pytest.mark.parametrize("operation", list(OrderOperation))
def test_operation_signed_by_metamask_lets_anyone_manage_the_order(
    chain, market, metamask, operation
):
    orders, signed = metamask
    signature = bytes.fromhex(signed[operation.name]["signature"][2:])

    market.manage(orders.request, operation, by=market.stranger, sign=signature)

    digest = market.digest(orders.request)
    if operation is OrderOperation.SIGN:
        assert market.hub.functions.viewPresigned(digest).call() == market.requester.address
    else:
        assert market.consumed(orders.request) == orders.request.volume
