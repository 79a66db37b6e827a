"""The JSON-RPC client: a Web3 built from settings, calls, transactions for the browser wallet
to send, and `TransactionSender` for the keys the server holds.

Failures come out as `ChainError`s: `ChainUnavailable` when the node does not answer,
`ChainRevert` (decoded with the ABIs given) when a contract refuses, `ContractMissing` when a
view is asked of an address without a contract that answers it.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    BadFunctionCallOutput,
    ContractLogicError,
    TransactionNotFound,
    Web3RPCError,
)
from web3.providers.rpc.utils import REQUEST_RETRY_ALLOWLIST, ExceptionRetryConfiguration
from web3.types import TxReceipt

from marketplace.chain.errors import (
    ChainError,
    ChainRevert,
    ChainUnavailable,
    ContractMissing,
    decode_revert,
    short_address,
)

# One definition of each, shared with the worker agent (which imports nothing of the site).
from worker.chain import (
    GAS_MARGIN,
    NONCE_ERRORS,
    RECEIPT_TIMEOUT,
    node_unavailable,
    revert_bytes,
    transaction_fields,
    wait_for_confirmations,
    wait_for_receipt,
)
from worker.chain import shown_url as shown_url  # callers show node URLs as client.shown_url

logger = logging.getLogger(__name__)

Abis = Iterable[Sequence[dict[str, Any]]]


def _unavailable(url: str, error: Exception) -> ChainUnavailable:
    return node_unavailable(
        url, "timed out" if isinstance(error, requests.Timeout) else "cannot connect"
    )


class _Provider(HTTPProvider):
    """HTTPProvider whose transport failures are ChainUnavailable."""

    def make_request(self, method: Any, params: Any) -> Any:
        try:
            return super().make_request(method, params)
        except (requests.ConnectionError, requests.Timeout, requests.HTTPError) as error:
            # Not `from error`: its text holds the full URL, and with it any API key.
            raise _unavailable(str(self.endpoint_uri), error) from None

    def make_batch_request(self, batch_requests: Any) -> Any:
        try:
            return super().make_batch_request(batch_requests)
        except (requests.ConnectionError, requests.Timeout, requests.HTTPError) as error:
            raise _unavailable(str(self.endpoint_uri), error) from None


@lru_cache(maxsize=8)
def _web3(url: str, timeout: float) -> Web3:
    # Connection errors are retried briefly: keep-alive connections the node dropped, or a node
    # restarting. Timeouts are not: the node answered too slowly once already.
    # Never sends: a re-posted transaction the node already took would come back "nonce too
    # low" and be taken for another sender's (see TransactionSender._sign_and_send).
    retry = ExceptionRetryConfiguration(
        errors=(requests.ConnectionError,),
        retries=3,
        backoff_factor=0.05,
        method_allowlist=[m for m in REQUEST_RETRY_ALLOWLIST if m != "eth_sendRawTransaction"],
    )
    provider = _Provider(
        url, request_kwargs={"timeout": timeout}, exception_retry_configuration=retry
    )
    return Web3(provider)


def web3(*, url: str | None = None) -> Web3:
    """The Web3 for `url`, by default settings.WEB3_RPC_URL (one shared instance per URL; it is
    safe across threads: each thread gets its own HTTP session)."""
    return _web3(url or settings.WEB3_RPC_URL, float(settings.CHAIN_RPC_TIMEOUT))


def chain_id(*, w3: Web3 | None = None) -> int:
    """The chain id the node reports (not settings.CHAIN_ID, which says what it should be)."""
    return (w3 or web3()).eth.chain_id


def rpc(method: str, params: Sequence[Any] = (), *, w3: Web3 | None = None) -> Any:
    """A raw JSON-RPC call, e.g. anvil's `evm_increaseTime`; its `result`, or ChainError."""
    try:
        return (w3 or web3()).manager.request_blocking(method, list(params))
    except Web3RPCError as error:
        raise ChainError(f"{method} failed: {_rpc_message(error)}") from error


def _rpc_message(error: Web3RPCError) -> str:
    """The node's own error message, without web3's wrapping."""
    response = error.rpc_response or {}
    detail = response.get("error")
    if isinstance(detail, dict) and detail.get("message"):
        return str(detail["message"])
    return error.message


def _revert_data(error: ContractLogicError) -> bytes:
    return revert_bytes(error.data) or b""


def _estimate_gas(w3: Web3, transaction: dict[str, Any], abis: Abis, *, margin: float) -> int:
    try:
        estimate = w3.eth.estimate_gas(transaction)  # type: ignore[arg-type]
    except ContractLogicError as error:
        raise decode_revert(_revert_data(error), abis) from error
    except Web3RPCError as error:
        # Not a revert: insufficient funds, gas above the block limit, ...
        raise ChainError(
            f"The node refused to estimate a transaction from "
            f"{short_address(transaction['from'])}: {_rpc_message(error)}"
        ) from error
    return int(estimate * (1 + margin))


def call(
    *,
    to: str,
    data: bytes | str,
    sender: str | None = None,
    value: int = 0,
    block: int | str = "latest",
    abis: Abis = (),
    w3: Web3 | None = None,
) -> bytes:
    """`eth_call`: the raw return data, ChainRevert decoded with `abis`, or ChainError when
    the node refuses the call itself (an unknown block, a malformed request)."""
    transaction = transaction_fields(sender=sender, to=to, data=data, value=value)
    try:
        return bytes((w3 or web3()).eth.call(transaction, block_identifier=block))  # type: ignore[arg-type]
    except ContractLogicError as error:
        raise decode_revert(_revert_data(error), abis) from error
    except Web3RPCError as error:
        raise ChainError(
            f"The node refused a call to {short_address(to)} at block {block}: "
            f"{_rpc_message(error)}"
        ) from error


def view(function: ContractFunction, *, abis: Abis = ()) -> Any:
    """The answer of a contract's view function (bound to its arguments), at the latest block.

    Raises ChainRevert (decoded with `abis`) when the contract refuses, ContractMissing when no
    contract at its address answers it (nothing there, or not ours), ChainError when the node
    refuses the call, ChainUnavailable when it does not answer."""
    try:
        return function.call()
    except ContractLogicError as error:
        raise decode_revert(_revert_data(error), abis) from error
    except BadFunctionCallOutput as error:
        raise ContractMissing(
            f"No contract at {short_address(function.address)} answers {function.fn_name}(): "
            "the contracts this site knows are not on this chain (was it restarted without its "
            "state?)."
        ) from error
    except Web3RPCError as error:
        raise ChainError(
            f"The node refused a call to {short_address(function.address)}: {_rpc_message(error)}"
        ) from error


def build_unsigned_transaction(
    *,
    sender: str,
    to: str | None,
    data: bytes | str,
    value: int = 0,
    abis: Abis = (),
    w3: Web3 | None = None,
) -> dict[str, str]:
    """The transaction a browser wallet sends with `eth_sendTransaction`: from, to (absent for
    a contract creation), data, value, chainId and gas (estimate with a margin) as 0x hex
    strings. The wallet picks nonce and fees. A call that would revert raises ChainRevert
    now, before the user is asked to sign anything."""
    w3 = w3 or web3()
    transaction = transaction_fields(sender=sender, to=to, data=data, value=value)
    gas = _estimate_gas(w3, transaction, abis, margin=GAS_MARGIN)
    return {**transaction, "chainId": hex(w3.eth.chain_id), "gas": hex(gas)}


ACCOUNT_LOCK_SECONDS = 60.0
ACCOUNT_LOCK_WAIT_SECONDS = 30.0


@contextmanager
def _account_lock(address: str) -> Iterator[None]:
    """One sender per account at a time, from reading its nonce until the node took the
    transaction: across threads, and across processes and machines sharing the cache (Redis).
    `cache.add` is an atomic set-if-absent there; the entry expires after ACCOUNT_LOCK_SECONDS
    should its holder die."""
    key = f"chain:sender:{settings.CHAIN_ID}:{address}"
    token = secrets.token_hex(16)
    deadline = time.monotonic() + ACCOUNT_LOCK_WAIT_SECONDS
    pause = 0.005
    while not cache.add(key, token, timeout=ACCOUNT_LOCK_SECONDS):
        if time.monotonic() > deadline:
            raise ChainError(
                f"Another process has been sending from {short_address(address)} for "
                f"{ACCOUNT_LOCK_WAIT_SECONDS:g} s; try again later."
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
    try:
        yield
    finally:
        if cache.get(key) == token:
            cache.delete(key)


class TransactionSender:
    """Signs and sends transactions with a key the server holds, and waits for them.

    Safe across threads, and across processes and machines that share the cache (Redis): a
    lock per account (`_account_lock`) covers reading the nonce from the node (pending
    transactions included) until the node took the transaction. Without Redis each process
    has its own lock, so only one process may send from a key. Nodes behind a load balancer
    that answer "pending" from a lagging replica may still collide; a collision is retried
    once with a fresh nonce.
    """

    def __init__(
        self,
        account: LocalAccount,
        *,
        w3: Web3 | None = None,
        abis: Abis = (),
        gas_margin: float = GAS_MARGIN,
        receipt_timeout: float = RECEIPT_TIMEOUT,
        confirmations: int | None = None,
    ) -> None:
        """`abis` decode the custom errors of reverts; `confirmations` (default
        settings.CHAIN_CONFIRMATIONS) is how many blocks `send` waits for after the one that
        mined the transaction."""
        self.account = account
        self.w3 = w3 or web3()
        self.abis = list(abis)
        self.gas_margin = gas_margin
        self.receipt_timeout = receipt_timeout
        self.confirmations = (
            settings.CHAIN_CONFIRMATIONS if confirmations is None else confirmations
        )
        self._chain_id: int | None = None

    @property
    def address(self) -> str:
        return self.account.address

    def _fees(self) -> tuple[dict[str, int], int]:
        """EIP-1559 fees (legacy gas price on chains without a base fee), and the block gas
        limit."""
        block = self.w3.eth.get_block("latest")
        base_fee = block.get("baseFeePerGas")
        if base_fee is None:
            return {"gasPrice": self.w3.eth.gas_price}, block["gasLimit"]
        tip = self.w3.eth.max_priority_fee
        # Twice the base fee stays valid through six full blocks of base-fee increases.
        return {"maxFeePerGas": 2 * base_fee + tip, "maxPriorityFeePerGas": tip}, block["gasLimit"]

    def _sign_and_send(self, transaction: dict[str, Any]) -> str:
        with _account_lock(self.address):
            for attempt in (1, 2):
                # Read under the lock every time: the node knows what every process sharing
                # this key has sent (and forgets what a chain reset or a revert undid).
                nonce = self.w3.eth.get_transaction_count(self.address, "pending")
                signed = self.account.sign_transaction({**transaction, "nonce": nonce})
                try:
                    return self.w3.eth.send_raw_transaction(signed.raw_transaction).to_0x_hex()
                except Web3RPCError as error:
                    message = _rpc_message(error)
                    if any(text in message.lower() for text in NONCE_ERRORS):
                        if self._node_has(signed.hash):
                            # Ours after all (a send the node took before failing to answer):
                            # sending it again with the next nonce would pay twice.
                            return signed.hash.to_0x_hex()
                        if attempt == 1:
                            # Sent from this key outside our lock (a wallet): once more.
                            continue
                    raise ChainError(
                        f"The node refused the transaction from {short_address(self.address)}: "
                        f"{message}"
                    ) from error
        raise AssertionError("unreachable")  # pragma: no cover

    def _node_has(self, tx_hash: bytes) -> bool:
        try:
            self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return False
        return True

    def _receipt(self, tx_hash: str) -> TxReceipt:
        return wait_for_receipt(
            tx_hash, lambda: self._mined_receipt(tx_hash), timeout=self.receipt_timeout
        )

    def _mined_receipt(self, tx_hash: str) -> TxReceipt | None:
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def _confirmed(self, receipt: TxReceipt) -> TxReceipt:
        """The receipt again once `confirmations` blocks are on top of it.

        However slow the chain's blocks, the wait lasts as long as blocks keep coming: it fails
        only when the head stands still for `receipt_timeout` seconds."""
        if not self.confirmations:
            return receipt
        wait_for_confirmations(
            tx_hash=receipt["transactionHash"].to_0x_hex(),
            mined=receipt["blockNumber"],
            confirmations=self.confirmations,
            block_number=lambda: self.w3.eth.block_number,
            stall_seconds=self.receipt_timeout,
        )
        try:
            return self.w3.eth.get_transaction_receipt(receipt["transactionHash"])
        except TransactionNotFound as error:
            raise ChainError(
                f"Transaction {receipt['transactionHash'].to_0x_hex()} was dropped by a chain "
                "reorganization."
            ) from error

    def _mined_revert(
        self, transaction: dict[str, Any], receipt: TxReceipt, abis: Abis, tx_hash: str
    ) -> ChainRevert:
        """Why a mined transaction failed: its call replayed on the state of its block."""
        if receipt["gasUsed"] >= transaction["gas"]:
            return ChainRevert(
                "OutOfGas",
                {"gas": transaction["gas"]},
                f"The transaction ran out of gas (limit {transaction['gas']}).",
                tx_hash=tx_hash,
            )
        replay = {
            key: transaction[key]
            for key in ("from", "to", "data", "value", "gas")
            if key in transaction
        }
        try:
            self.w3.eth.call(replay, block_identifier=receipt["blockNumber"])  # type: ignore[arg-type]
        except ContractLogicError as error:
            return decode_revert(_revert_data(error), abis, tx_hash=tx_hash)
        return ChainRevert(
            "Reverted",
            {},
            "The transaction failed on chain; replaying it did not reproduce the failure, so "
            "its reason is unknown.",
            tx_hash=tx_hash,
        )

    def send(
        self,
        *,
        to: str | None,
        data: bytes | str = b"",
        value: int = 0,
        gas: int | None = None,
        abis: Abis = (),
    ) -> TxReceipt:
        """Send a transaction (a contract creation when `to` is None) and return its receipt
        once mined (and confirmed). `gas` None: estimated, with the sender's margin.

        Raises ChainRevert when the estimate reverts (nothing is sent) or the mined transaction
        failed (decoded with the sender's and the given `abis`), ChainUnavailable when the node
        does not answer, ChainError when the node refuses the transaction.
        """
        abis = [*self.abis, *abis]
        transaction = transaction_fields(sender=self.address, to=to, data=data, value=value)
        fees, block_gas_limit = self._fees()
        if gas is None:
            gas = min(
                _estimate_gas(self.w3, transaction, abis, margin=self.gas_margin), block_gas_limit
            )
        if self._chain_id is None:
            self._chain_id = self.w3.eth.chain_id
        transaction.update(fees, gas=gas, chainId=self._chain_id)
        tx_hash = self._sign_and_send(transaction)
        logger.info("Sent %s from %s to %s", tx_hash, self.address, to or "(creation)")
        receipt = self._receipt(tx_hash)
        if receipt["status"] != 1:
            raise self._mined_revert(transaction, receipt, abis, tx_hash)
        confirmed = self._confirmed(receipt)
        if confirmed["status"] != 1:  # a reorganization mined it again, where it failed
            raise self._mined_revert(transaction, confirmed, abis, tx_hash)
        return confirmed
