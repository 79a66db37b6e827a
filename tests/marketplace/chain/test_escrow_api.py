"""The escrow API (/api/v1/escrow/) on anvil: balances, the permit and deposit transaction a
browser wallet signs and sends, withdrawals, and every refusal before any gas is spent."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from django.test import Client
from django.urls import reverse
from eth_account import Account
from web3 import Web3

from marketplace.chain.client import TransactionSender
from marketplace.chain.hub import Hub
from marketplace.chain.models import Deployment
from tests.chain_scaffold import ECT, closed_port_url, send_ect
from tests.factories.accounts import WalletFactory

pytestmark = pytest.mark.django_db

WRITES = ["api_escrow_deposit_permit", "api_escrow_deposit", "api_escrow_withdraw"]


def _record(deployment) -> Deployment:
    fields = dataclasses.asdict(deployment)
    return Deployment.objects.create(chain_id=31337, first_block=fields.pop("block"), **fields)


@pytest.fixture
def deployed(chain, hub_deployment):
    """The session's contracts, recorded so that `current_deployment()` finds them."""
    _record(hub_deployment)
    return hub_deployment


@pytest.fixture
def hub(chain, deployed) -> Hub:
    return Hub(address=deployed.hub, w3=chain)


@pytest.fixture
def buyer(deployed, dev_accounts):
    """A dev account (ETH for gas) given 100 ECT by dev account 0, which holds the supply."""
    account = dev_accounts[4]
    send_ect(deployed, dev_accounts[0], account.address, 100 * ECT)
    return account


@pytest.fixture
def signed_in(client, buyer) -> Client:
    client.force_login(WalletFactory(address=buyer.address).user)
    return client


def _post(client: Client, name: str, body: dict):
    return client.post(reverse(name), json.dumps(body), content_type="application/json")


def _state(w3: Web3, hub: Hub, address: str) -> tuple:
    """Everything a refused request must leave as it was."""
    account = hub.account(address)
    return (
        w3.eth.block_number,
        w3.eth.get_transaction_count(address),
        hub.token_balance(address),
        account.stake,
        account.locked,
        hub.token.functions.nonces(address).call(),
    )


def _send(w3: Web3, account, transaction: dict[str, str]):
    """What the wallet does with the API's transaction: sign it with the key and send it."""
    assert transaction["from"] == account.address
    assert int(transaction["chainId"], 16) == w3.eth.chain_id
    return TransactionSender(account, w3=w3).send(
        to=transaction["to"],
        data=transaction["data"],
        value=int(transaction["value"], 16),
        gas=int(transaction["gas"], 16),
    )


def _signed_permit(client: Client, account, amount: str) -> dict:
    """Step 1 of a deposit, and the wallet's signature of its typed data."""
    response = _post(
        client, "api_escrow_deposit_permit", {"address": account.address, "amount": amount}
    )
    assert response.status_code == 200, response.json()
    permit = response.json()
    signature = account.sign_typed_data(full_message=permit["typed_data"]).signature
    return {
        "address": account.address,
        "amount": amount,
        "deadline": permit["deadline"],
        "signature": "0x" + bytes(signature).hex(),
    }


def _deposit(w3: Web3, client: Client, account, amount: str) -> None:
    response = _post(client, "api_escrow_deposit", _signed_permit(client, account, amount))
    assert response.status_code == 200, response.json()
    assert _send(w3, account, response.json()["transaction"])["status"] == 1


def test_urls():
    address = "0x" + "ab" * 20
    assert reverse("api_escrow_detail", args=[address]) == f"/api/v1/escrow/{address}/"
    assert reverse("api_escrow_deposit_permit") == "/api/v1/escrow/deposit/permit/"
    assert reverse("api_escrow_deposit") == "/api/v1/escrow/deposit/"
    assert reverse("api_escrow_withdraw") == "/api/v1/escrow/withdraw/"


# ---------------------------------------------------------------------------- balances


def test_anyone_reads_the_balances_of_an_address_in_units_and_in_ect(chain, buyer, hub):
    hub.deposit_with_permit(sender=TransactionSender(buyer, w3=chain), amount=30 * ECT + 5)

    response = Client().get(reverse("api_escrow_detail", args=[buyer.address.lower()]))

    assert response.status_code == 200
    assert response.json() == {
        "address": buyer.address,
        "wallet_units": str(70 * ECT - 5),
        "stake_units": str(30 * ECT + 5),
        "locked_units": "0",
        "wallet": "69.999999995",
        "stake": "30.000000005",
        "locked": "0",
    }


def test_balances_of_something_else_than_an_address_are_refused(deployed, client):
    response = client.get(reverse("api_escrow_detail", args=["0x1234"]))

    assert response.status_code == 400
    assert response.json() == {
        "error": "'0x1234' is not an Ethereum address: expected 0x followed by 40 hexadecimal "
        "digits."
    }


def test_balances_of_an_address_with_a_wrong_checksum_are_refused(deployed, client, buyer):
    typo = buyer.address[:2] + buyer.address[2:].swapcase()

    response = client.get(reverse("api_escrow_detail", args=[typo]))

    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{typo} has a wrong checksum")


# ---------------------------------------------------------------------------- deposit


def test_a_deposit_with_the_signed_permit_moves_exactly_the_amount(chain, signed_in, buyer, hub):
    before_wallet, before_stake = hub.token_balance(buyer.address), hub.account(buyer.address)

    permit = _post(
        signed_in, "api_escrow_deposit_permit", {"address": buyer.address, "amount": "12.3456789"}
    ).json()
    typed = permit["typed_data"]
    signature = buyer.sign_typed_data(full_message=typed).signature
    response = _post(
        signed_in,
        "api_escrow_deposit",
        {
            "address": buyer.address.lower(),
            "amount": "12.3456789",
            "deadline": permit["deadline"],
            "signature": "0x" + bytes(signature).hex(),
        },
    )
    receipt = _send(chain, buyer, response.json()["transaction"])

    units = 12_345_678_900
    assert (permit["amount"], permit["amount_units"]) == ("12.3456789", str(units))
    assert typed["primaryType"] == "Permit"
    assert typed["domain"]["verifyingContract"] == hub.token.address
    assert typed["message"] == {
        "owner": buyer.address,
        "spender": hub.address,
        "value": str(units),
        "nonce": "0",
        "deadline": str(permit["deadline"]),
    }
    assert permit["deadline"] > time.time() + 3000
    assert response.status_code == 200
    body = response.json()
    assert (body["amount"], body["amount_units"]) == ("12.3456789", str(units))
    assert body["transaction"]["to"] == hub.address
    assert receipt["status"] == 1
    assert hub.account(buyer.address).stake == before_stake.stake + units
    assert hub.account(buyer.address).locked == 0
    assert hub.token_balance(buyer.address) == before_wallet - units


def test_a_permit_used_already_still_gives_the_deposit(chain, signed_in, buyer, hub, dev_accounts):
    """depositWithPermit takes a permit someone else used first (front-running it) while the
    allowance it gave covers the amount: the API must not refuse what the chain accepts."""
    body = _signed_permit(signed_in, buyer, "40")
    signature = bytes.fromhex(body["signature"][2:])
    front_runner = TransactionSender(dev_accounts[7], w3=chain)
    front_runner.send(
        to=hub.token.address,
        data=hub.token.encode_abi(
            "permit",
            args=[
                buyer.address,
                hub.address,
                40 * ECT,
                body["deadline"],
                signature[64],
                signature[:32],
                signature[32:64],
            ],
        ),
    )

    response = _post(signed_in, "api_escrow_deposit", body)

    assert response.status_code == 200, response.json()
    _send(chain, buyer, response.json()["transaction"])
    assert hub.account(buyer.address).stake == 40 * ECT


# ---------------------------------------------------------------------------- withdraw


def test_withdraw_returns_free_escrow_to_the_wallet(chain, signed_in, buyer, hub):
    _deposit(chain, signed_in, buyer, "30")

    response = _post(signed_in, "api_escrow_withdraw", {"address": buyer.address, "amount": "12.5"})
    receipt = _send(chain, buyer, response.json()["transaction"])

    assert response.status_code == 200
    assert (response.json()["amount"], response.json()["amount_units"]) == ("12.5", "12500000000")
    assert receipt["status"] == 1
    assert hub.account(buyer.address).stake == 17_500_000_000
    assert hub.token_balance(buyer.address) == 82_500_000_000


def test_withdraw_of_more_than_the_free_stake_is_refused_in_words(chain, signed_in, buyer, hub):
    _deposit(chain, signed_in, buyer, "30")
    before = _state(chain, hub, buyer.address)

    response = _post(signed_in, "api_escrow_withdraw", {"address": buyer.address, "amount": "31"})

    assert response.status_code == 400
    assert response.json() == {
        "error": "Your escrow holds 30 ECT free: withdraw at most 30 ECT.",
    }
    assert _state(chain, hub, buyer.address) == before


def test_withdraw_from_an_empty_escrow_is_refused_in_words(chain, signed_in, buyer, hub):
    response = _post(signed_in, "api_escrow_withdraw", {"address": buyer.address, "amount": "1"})

    assert response.status_code == 400
    assert response.json() == {"error": "Your escrow holds nothing free to withdraw."}


# ---------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("endpoint", WRITES)
@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("abc", "'abc' is not an amount of ECT: write a number such as 25 or 0.5."),
        ("NaN", "'NaN' is not an amount of ECT: write a number such as 25 or 0.5."),
        ("-5", "The amount must be more than 0 ECT, not -5."),
        ("0", "The amount must be more than 0 ECT, not 0."),
        ("0.000", "The amount must be more than 0 ECT, not 0.000."),
        (
            "0.0000000001",
            "ECT has 9 decimals: 0.0000000001 is finer than its smallest unit.",
        ),
        (
            str(2**256),
            f"{2**256} ECT is more than any account can hold (at most 2^256 - 1 base units): "
            "check the amount.",
        ),
        (
            "1e999999999",
            "1e999999999 ECT is more than any account can hold (at most 2^256 - 1 base "
            "units): check the amount.",
        ),
        ("", 'Give the amount of ECT, such as "25" or "0.5".'),
    ],
)
def test_an_amount_that_is_not_a_positive_ect_amount_is_refused(
    chain, signed_in, buyer, hub, endpoint, amount, error
):
    before = _state(chain, hub, buyer.address)
    body = {
        "address": buyer.address,
        "amount": amount,
        "deadline": 2**40,
        "signature": "0x" + "11" * 65,
    }

    response = _post(signed_in, endpoint, body)

    assert response.status_code == 400
    assert response.json() == {"error": error, "field": "amount"}
    assert _state(chain, hub, buyer.address) == before


@pytest.mark.parametrize("endpoint", WRITES)
def test_a_wallet_that_is_not_an_address_is_refused_naming_the_field(
    chain, signed_in, buyer, hub, endpoint
):
    before = _state(chain, hub, buyer.address)
    body = {"address": "0x1234", "amount": "1", "deadline": 2**40, "signature": "0x" + "11" * 65}

    response = _post(signed_in, endpoint, body)

    assert response.status_code == 400
    assert response.json() == {
        "error": "'0x1234' is not an Ethereum address: expected 0x followed by 40 hexadecimal "
        "digits.",
        "field": "address",
    }
    assert _state(chain, hub, buyer.address) == before


def test_an_amount_above_uint256_in_base_units_is_refused(chain, signed_in, buyer, hub):
    # Fits as ECT with 9 decimals only if below (2^256 - 1) / 10^9.
    amount = f"{(2**256 - 1) // 10**9}.999999999"

    response = _post(
        signed_in, "api_escrow_deposit_permit", {"address": buyer.address, "amount": amount}
    )

    assert response.status_code == 400
    assert "more than any account can hold" in response.json()["error"]


def test_a_deposit_above_the_wallet_balance_is_refused_before_the_permit(
    chain, signed_in, buyer, hub
):
    before = _state(chain, hub, buyer.address)

    response = _post(
        signed_in, "api_escrow_deposit_permit", {"address": buyer.address, "amount": "100.5"}
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "Your wallet holds 100 ECT: deposit at most that, or get ECT from the faucet on "
        "the Wallets page."
    }
    assert _state(chain, hub, buyer.address) == before


def test_a_wallet_without_eth_for_gas_is_refused_before_the_permit(
    chain, client, deployed, dev_accounts
):
    fresh = Account.create()
    send_ect(deployed, dev_accounts[0], fresh.address, 10 * ECT)
    client.force_login(WalletFactory(address=fresh.address).user)

    response = _post(client, "api_escrow_deposit_permit", {"address": fresh.address, "amount": "5"})

    assert response.status_code == 400
    assert response.json() == {
        "error": "Your wallet holds no ETH to pay the gas of the deposit: get ETH from the "
        "faucet on the Wallets page, then deposit."
    }


@pytest.mark.parametrize("endpoint", WRITES)
def test_writes_for_someone_elses_wallet_are_forbidden(chain, client, buyer, hub, endpoint):
    client.force_login(WalletFactory().user)  # signed in, with another wallet
    before = _state(chain, hub, buyer.address)

    response = _post(
        client,
        endpoint,
        {"address": buyer.address, "amount": "1", "deadline": 2**40, "signature": "0x" + "1" * 130},
    )

    assert response.status_code == 403
    assert response.json() == {
        "error": f"{buyer.address} is not one of your linked wallets: link it on the Wallets "
        "page first, then try again."
    }
    assert _state(chain, hub, buyer.address) == before


@pytest.mark.parametrize("endpoint", WRITES)
def test_writes_need_a_signed_in_user(chain, client, buyer, hub, endpoint):
    response = _post(client, endpoint, {"address": buyer.address, "amount": "1"})

    # 401 while a token authenticator comes first in settings (it sends WWW-Authenticate).
    assert response.status_code in (401, 403)
    assert response.json() == {
        "error": "Sign in first: only the owner of a linked wallet may move its escrow."
    }


def test_writes_from_a_session_need_the_csrf_token(chain, buyer, hub):
    client = Client(enforce_csrf_checks=True)
    client.force_login(WalletFactory(address=buyer.address).user)

    response = _post(client, "api_escrow_deposit_permit", {"address": buyer.address, "amount": "1"})

    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]


def test_a_permit_signed_by_another_account_is_refused(chain, signed_in, buyer, hub):
    body = _signed_permit(signed_in, buyer, "25")
    permit = _post(
        signed_in, "api_escrow_deposit_permit", {"address": buyer.address, "amount": "25"}
    ).json()
    other = Account.create()
    body["signature"] = (
        "0x" + bytes(other.sign_typed_data(full_message=permit["typed_data"]).signature).hex()
    )
    body["deadline"] = permit["deadline"]
    before = _state(chain, hub, buyer.address)

    response = _post(signed_in, "api_escrow_deposit", body)

    assert response.status_code == 400
    short = f"{buyer.address[:6]}…{buyer.address[-4:]}"
    assert response.json() == {
        "error": f"This signature is not {short}'s permit for 25 ECT with this deadline "
        "(another account signed it, or another amount, or the permit was used already): "
        "sign the permit again."
    }
    assert _state(chain, hub, buyer.address) == before


def test_a_permit_signed_for_another_amount_is_refused(chain, signed_in, buyer, hub):
    body = {**_signed_permit(signed_in, buyer, "25"), "amount": "26"}

    response = _post(signed_in, "api_escrow_deposit", body)

    assert response.status_code == 400
    assert response.json()["error"].startswith("This signature is not")
    assert hub.account(buyer.address).stake == 0


@pytest.mark.parametrize(
    "signature", ["0x1234", "0x" + "zz" * 65, "0x" + "00" * 65, "0x" + "ff" * 65, ""]
)
def test_a_malformed_signature_is_refused(chain, signed_in, buyer, hub, signature):
    body = {**_signed_permit(signed_in, buyer, "25"), "signature": signature}

    response = _post(signed_in, "api_escrow_deposit", body)

    assert response.status_code == 400
    assert response.json()["error"] in {
        "The signature must be 0x and 130 hexadecimal digits, as eth_signTypedData_v4 returns it.",
        "Give the wallet's signature of the permit.",
        f"This signature is not {buyer.address[:6]}…{buyer.address[-4:]}'s permit for 25 ECT "
        "with this deadline (another account signed it, or another amount, or the permit was "
        "used already): sign the permit again.",
    }
    assert hub.account(buyer.address).stake == 0


def test_an_expired_permit_is_refused(chain, signed_in, buyer, hub):
    body = _signed_permit(signed_in, buyer, "25")
    chain.provider.make_request("evm_increaseTime", [2 * 3600])
    chain.provider.make_request("evm_mine", [])

    response = _post(signed_in, "api_escrow_deposit", body)

    assert response.status_code == 400
    assert response.json()["error"].startswith("The permit expired at ")
    assert response.json()["error"].endswith(" UTC: sign a new one.")
    assert hub.account(buyer.address).stake == 0


def test_a_deposit_the_chain_would_revert_is_refused_with_the_reverts_sentence(
    chain, deployed, signed_in, buyer, hub, dev_accounts
):
    body = _signed_permit(signed_in, buyer, "60")
    send_ect(deployed, buyer, dev_accounts[0].address, 50 * ECT)  # 50 ECT left
    before = _state(chain, hub, buyer.address)

    response = _post(signed_in, "api_escrow_deposit", body)

    assert response.status_code == 400
    short = f"{buyer.address[:6]}…{buyer.address[-4:]}"
    assert response.json() == {
        "error": f"Account {short} holds 50 ECT; 60 ECT are needed — get 10 ECT more first."
    }
    assert _state(chain, hub, buyer.address) == before


# ---------------------------------------------------------------------------- unavailable


def test_without_deployed_contracts_the_api_says_so(chain, client, buyer):
    Deployment.objects.all().delete()
    client.force_login(WalletFactory(address=buyer.address).user)
    expected = {
        "error": "SuperEdge's contracts are not deployed on chain 31337, so there is no escrow "
        "yet: an operator must deploy them first (manage.py deploy_contracts)."
    }

    read = client.get(reverse("api_escrow_detail", args=[buyer.address]))
    write = _post(client, "api_escrow_deposit_permit", {"address": buyer.address, "amount": "1"})

    assert (read.status_code, read.json()) == (503, expected)
    assert (write.status_code, write.json()) == (503, expected)


def test_with_the_node_down_the_api_says_so(chain, client, buyer, settings):
    client.force_login(WalletFactory(address=buyer.address).user)
    settings.WEB3_RPC_URL = closed_port_url()
    expected = {
        "error": "The blockchain node does not answer, so escrow can be neither read nor moved "
        "right now: try again in a minute."
    }

    read = client.get(reverse("api_escrow_detail", args=[buyer.address]))
    write = _post(client, "api_escrow_withdraw", {"address": buyer.address, "amount": "1"})

    assert (read.status_code, read.json()) == (503, expected)
    assert (write.status_code, write.json()) == (503, expected)


def test_contracts_missing_from_the_node_are_unavailable_not_an_error(chain, client, buyer):
    Deployment.objects.update(hub=Account.create().address, token=Account.create().address)
    client.force_login(WalletFactory(address=buyer.address).user)

    response = _post(client, "api_escrow_withdraw", {"address": buyer.address, "amount": "1"})

    assert response.status_code == 503
    assert "contracts are not deployed" in response.json()["error"]


# ---------------------------------------------------------------------------- pages


def test_pages_carry_the_chain_config_for_the_wallet(client, deployed, anvil, settings):
    settings.WEB3_PUBLIC_RPC_URL = ""

    html = client.get("/").content.decode()

    start = html.index('<script id="chain-config" type="application/json">') + len(
        '<script id="chain-config" type="application/json">'
    )
    config = json.loads(html[start : html.index("</script>", start)])
    assert config == {
        "chainId": 31337,
        "chainIdHex": "0x7a69",
        "chainName": "SuperEdge dev chain",
        "rpcUrl": anvil.url,
        "nativeCurrency": {"name": "Ether", "symbol": "ETH", "decimals": 18},
        "hub": deployed.hub,
        "token": deployed.token,
        "currency": {"symbol": "ECT", "decimals": 9},
        "escrowApi": "/api/v1/escrow/",
    }


@pytest.mark.parametrize(
    ("public", "private", "shown"),
    [
        ("https://rpc.example.org", "https://node.internal/key123", "https://rpc.example.org"),
        ("", "http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("", "https://mainnet.example.io/v3/secretkey", ""),
        ("", "https://user:pass@node.example.io", ""),
        ("", "https://node.example.io/?apikey=secret", ""),
    ],
)
def test_the_browser_never_gets_an_rpc_url_that_may_hold_a_secret(settings, public, private, shown):
    from frontend.context_processors import public_rpc_url

    settings.WEB3_PUBLIC_RPC_URL, settings.WEB3_RPC_URL = public, private

    assert public_rpc_url() == shown
