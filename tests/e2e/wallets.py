"""A stand-in for MetaMask in Playwright tests: an EIP-1193 `window.ethereum` whose key is a Python
`LocalAccount` and whose chain is a real node (the test's anvil).

    buyer = inject_wallet(page, dev_accounts[3], rpc_url=anvil.url)
    page.goto(live_server.url + "/accounts/wallets/")       # after inject_wallet: it is an
    ...                                                     # init script of the page
    assert buyer.calls.count("eth_sendTransaction") == 1

What the page's `window.ethereum.request({method, params})` does:

- eth_requestAccounts, eth_accounts: [the account's address, lower-case as MetaMask gives it].
- eth_chainId, net_version: the wallet's current chain, `wallet.chain_id` (start it elsewhere
  with `chain_id=1` to test a wallet on the wrong network; tests may also set it).
- wallet_switchEthereumChain: switches to a chain in `wallet.known_chains` (at first only the
  starting one), else fails with 4902 as MetaMask does; wallet_addEthereumChain records the
  chain's parameters in `wallet.added_chains`, knows it and switches to it. Both emit
  `chainChanged` to the page's listeners.
- personal_sign, eth_signTypedData_v4: signed with the key (typed data with eth_account's
  `sign_typed_data(full_message=...)`); like MetaMask, typed data whose domain names another
  chain than the current one is refused.
- eth_sendTransaction: fills nonce, gas (when absent) and EIP-1559 fees from the node, signs
  with the key, sends it raw and returns its hash (anvil mines it at once). A transaction for
  another chain than the current one, or sent while the wallet is on a chain other than the
  node's, is refused. The hashes sent are in `wallet.sent`.
- Reads (eth_getTransactionReceipt, eth_call, eth_blockNumber, eth_getBalance,
  eth_estimateGas, ...: READ_METHODS) go to the node at `rpc_url`, its errors passed through.
- Anything else fails with 4200 (unsupported method).

`reject` names methods the user "declines": they fail with EIP-1193 code 4001 before anything
happens. It is a set on the returned wallet, so a test may change it between steps.

Every request is appended to `wallet.calls` (method names) and `wallet.history` ((method,
params)). Several wallets, each in its own page (or browser context), work in one test: each
`inject_wallet` has its own key and state. Install at most one per page.

The page calls into Python through `page.expose_function`, so the wallet answers while the
test's thread is inside a Playwright call (an `expect`, a `wait_for_*`, a click...): wait with
Playwright, never with `time.sleep`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Iterable
from typing import Any

import requests
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

# Node methods a page may call through the wallet: they read, never sign.
READ_METHODS = frozenset(
    {
        "eth_blockNumber",
        "eth_call",
        "eth_estimateGas",
        "eth_feeHistory",
        "eth_gasPrice",
        "eth_getBalance",
        "eth_getBlockByHash",
        "eth_getBlockByNumber",
        "eth_getCode",
        "eth_getLogs",
        "eth_getStorageAt",
        "eth_getTransactionByHash",
        "eth_getTransactionCount",
        "eth_getTransactionReceipt",
        "eth_maxPriorityFeePerGas",
        "web3_clientVersion",
    }
)
USER_REJECTED = 4001
UNAUTHORIZED = 4100
UNSUPPORTED_METHOD = 4200
UNRECOGNIZED_CHAIN = 4902
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

_BINDING = "__superedgeTestWallet"

_PROVIDER_SCRIPT = """
(() => {
  const call = window["%(binding)s"];
  const listeners = {};
  const emit = (event, value) => {
    for (const listener of (listeners[event] || []).slice()) {
      try { listener(value); } catch (error) { console.error(error); }
    }
  };
  const provider = {
    isMetaMask: true,
    async request(args) {
      const { method, params } = args || {};
      if (typeof method !== "string") {
        throw Object.assign(new Error("Invalid request: no method."), { code: -32600 });
      }
      const answer = await call(method, params === undefined ? [] : params);
      if (answer.error) {
        throw Object.assign(new Error(answer.error.message), {
          code: answer.error.code, data: answer.error.data,
        });
      }
      if (answer.chainChanged) emit("chainChanged", answer.chainChanged);
      return answer.result;
    },
    on(event, listener) {
      (listeners[event] = listeners[event] || []).push(listener);
      return provider;
    },
    removeListener(event, listener) {
      listeners[event] = (listeners[event] || []).filter((known) => known !== listener);
      return provider;
    },
  };
  window.ethereum = provider;
  window.dispatchEvent(new Event("ethereum#initialized"));
})();
"""


class WalletRefusal(Exception):
    """An EIP-1193 error for the page: `code` and a message."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


@dataclasses.dataclass(eq=False)
class InjectedWallet:
    """The state of one injected wallet; `handle` answers the page's requests."""

    account: LocalAccount
    rpc_url: str
    chain_id: int
    known_chains: set[int]
    reject: set[str]
    calls: list[str] = dataclasses.field(default_factory=list)
    history: list[tuple[str, Any]] = dataclasses.field(default_factory=list)
    sent: list[str] = dataclasses.field(default_factory=list)
    added_chains: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self._session = requests.Session()
        self._ids = itertools.count(1)
        self._node_chain_id: int | None = None

    @property
    def address(self) -> str:
        """The checksummed address."""
        return self.account.address

    # ------------------------------------------------------------------ the node

    def node(self, method: str, params: list[Any] | None = None) -> Any:
        """A JSON-RPC call to the node; WalletRefusal with the node's own error when it fails."""
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params or []}
        answer = self._session.post(self.rpc_url, json=body, timeout=30).json()
        if "error" in answer:
            error = answer["error"]
            raise WalletRefusal(
                error.get("code", INTERNAL_ERROR), error.get("message", ""), error.get("data")
            )
        return answer["result"]

    @property
    def node_chain_id(self) -> int:
        if self._node_chain_id is None:
            self._node_chain_id = int(self.node("eth_chainId"), 16)
        return self._node_chain_id

    # ------------------------------------------------------------------ requests

    def handle(self, method: str, params: Any) -> dict[str, Any]:
        """{"result": ...} or {"error": {code, message, data}} (and "chainChanged" when the
        request switched chains): what the page's provider turns into its answer."""
        self.calls.append(method)
        self.history.append((method, params))
        params = params if isinstance(params, list) else [params]
        chain_before = self.chain_id
        try:
            if method in self.reject:
                raise WalletRefusal(USER_REJECTED, "MetaMask: User denied the request.")
            answer: dict[str, Any] = {"result": self._answer(method, params)}
        except WalletRefusal as refusal:
            return {
                "error": {"code": refusal.code, "message": refusal.message, "data": refusal.data}
            }
        except Exception as error:  # a bug of the test wallet: shown to the page, not swallowed
            return {
                "error": {
                    "code": INTERNAL_ERROR,
                    "message": f"Test wallet failure: {type(error).__name__}: {error}",
                }
            }
        if self.chain_id != chain_before:
            answer["chainChanged"] = hex(self.chain_id)
        return answer

    def _answer(self, method: str, params: list[Any]) -> Any:
        if method in ("eth_requestAccounts", "eth_accounts"):
            return [self.address.lower()]
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "net_version":
            return str(self.chain_id)
        if method == "wallet_switchEthereumChain":
            return self._switch(params)
        if method == "wallet_addEthereumChain":
            return self._add(params)
        if method == "personal_sign":
            return self._personal_sign(params)
        if method == "eth_signTypedData_v4":
            return self._sign_typed_data(params)
        if method == "eth_sendTransaction":
            return self._send_transaction(params)
        if method in READ_METHODS:
            return self.node(method, params)
        raise WalletRefusal(UNSUPPORTED_METHOD, f"The test wallet does not support {method}.")

    def _check_account(self, address: Any) -> None:
        if not isinstance(address, str) or address.lower() != self.address.lower():
            raise WalletRefusal(
                UNAUTHORIZED,
                f"The requested account {address} has not been authorized by the user.",
            )

    @staticmethod
    def _chain_param(params: list[Any]) -> int:
        try:
            return int(params[0]["chainId"], 16)
        except (IndexError, KeyError, TypeError, ValueError):
            raise WalletRefusal(
                INVALID_PARAMS, f"Expected [{{chainId}}], got {params!r}."
            ) from None

    def _switch(self, params: list[Any]) -> None:
        chain_id = self._chain_param(params)
        if chain_id not in self.known_chains:
            raise WalletRefusal(
                UNRECOGNIZED_CHAIN,
                f'Unrecognized chain ID "{hex(chain_id)}". Try adding the chain using '
                "wallet_addEthereumChain first.",
            )
        self.chain_id = chain_id

    def _add(self, params: list[Any]) -> None:
        chain_id = self._chain_param(params)
        chain = params[0]
        missing = [key for key in ("chainName", "rpcUrls", "nativeCurrency") if not chain.get(key)]
        if missing:
            raise WalletRefusal(INVALID_PARAMS, f"wallet_addEthereumChain lacks {missing}.")
        self.added_chains[chain_id] = chain
        self.known_chains.add(chain_id)
        self.chain_id = chain_id  # MetaMask offers to switch to a chain it just added

    def _personal_sign(self, params: list[Any]) -> str:
        message, address = params[0], params[1]
        self._check_account(address)
        data = bytes.fromhex(message[2:]) if message.startswith("0x") else message.encode()
        signed = self.account.sign_message(encode_defunct(primitive=data))
        return "0x" + bytes(signed.signature).hex()

    def _sign_typed_data(self, params: list[Any]) -> str:
        address, typed = params[0], params[1]
        self._check_account(address)
        typed = json.loads(typed) if isinstance(typed, str) else typed
        domain_chain = typed.get("domain", {}).get("chainId")
        if domain_chain is not None and int(str(domain_chain), 0) != self.chain_id:
            raise WalletRefusal(
                INVALID_PARAMS,
                f'Provided chainId "{domain_chain}" must match the active chainId '
                f'"{self.chain_id}"',
            )
        signed = self.account.sign_typed_data(full_message=typed)
        return "0x" + bytes(signed.signature).hex()

    def _send_transaction(self, params: list[Any]) -> str:
        tx = dict(params[0])
        self._check_account(tx.get("from"))
        if "chainId" in tx and int(str(tx["chainId"]), 0) != self.chain_id:
            raise WalletRefusal(
                INVALID_PARAMS,
                f"Invalid chainId {tx['chainId']}: the wallet is on chain {self.chain_id}.",
            )
        if self.chain_id != self.node_chain_id:
            raise WalletRefusal(
                INTERNAL_ERROR,
                f"The test wallet is on chain {self.chain_id}; it can send only on chain "
                f"{self.node_chain_id} (its node).",
            )
        call = {key: tx[key] for key in ("from", "to", "data", "value") if key in tx}
        gas = int(tx["gas"], 16) if tx.get("gas") else int(self.node("eth_estimateGas", [call]), 16)
        block = self.node("eth_getBlockByNumber", ["latest", False])
        tip = int(self.node("eth_maxPriorityFeePerGas"), 16)
        transaction = {
            "chainId": self.chain_id,
            "nonce": int(self.node("eth_getTransactionCount", [self.address, "pending"]), 16),
            "gas": gas,
            "maxFeePerGas": 2 * int(block["baseFeePerGas"], 16) + tip,
            "maxPriorityFeePerGas": tip,
            "value": int(str(tx.get("value", "0x0")), 0),
            "data": tx.get("data", "0x"),
        }
        if tx.get("to"):
            transaction["to"] = tx["to"]
        signed = self.account.sign_transaction(transaction)
        tx_hash = self.node("eth_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex()])
        self.sent.append(tx_hash)
        return tx_hash


def inject_wallet(
    page: Any,
    account: LocalAccount,
    *,
    rpc_url: str,
    chain_id: int = 31337,
    reject: Iterable[str] = (),
    known_chains: Iterable[int] | None = None,
) -> InjectedWallet:
    """Install a MetaMask stand-in holding `account`'s key in `page` (before it navigates: it is
    an init script, run again by every page load) and return its state.

    `rpc_url` is the node it signs for and reads from (the test's anvil: `anvil.url`);
    `chain_id` the chain it is on at first; `reject` the methods the user declines (4001);
    `known_chains` the chains `wallet_switchEthereumChain` may switch to without adding them
    (default: only the starting one)."""
    wallet = InjectedWallet(
        account=account,
        rpc_url=rpc_url,
        chain_id=chain_id,
        known_chains=set(known_chains if known_chains is not None else (chain_id,)),
        reject=set(reject),
    )
    page.expose_function(_BINDING, wallet.handle)
    page.add_init_script(_PROVIDER_SCRIPT % {"binding": _BINDING})
    return wallet
