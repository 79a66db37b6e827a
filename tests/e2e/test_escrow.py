"""The escrow panel of the Wallets page, in Chromium with an injected wallet (tests/e2e/wallets.py)
on anvil: deposit (one permit signature, one transaction) and withdraw, refusals, and a wallet
on another network switched to the site's chain."""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from marketplace.accounts.models import Wallet
from marketplace.chain import keys
from marketplace.chain.hub import Hub
from marketplace.chain.models import Deployment
from tests.chain_scaffold import ECT, send_ect
from tests.e2e.wallets import inject_wallet
from tests.factories.accounts import WalletFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FAUCET = keys.DEV_ADDRESSES[keys.ROLE_DEV_INDEX["faucet"]]


@pytest.fixture
def hub(chain, hub_deployment) -> Hub:
    """The session's contracts, recorded so that the site finds them."""
    fields = dataclasses.asdict(hub_deployment)
    Deployment.objects.create(chain_id=31337, first_block=fields.pop("block"), **fields)
    return Hub(address=hub_deployment.hub, w3=chain)


@pytest.fixture
def buyer(hub, hub_deployment, dev_accounts):
    """A dev account (ETH for gas) given 100 ECT by dev account 0, which holds the supply."""
    account = dev_accounts[5]
    send_ect(hub_deployment, dev_accounts[0], account.address, 100 * ECT)
    return account


def _signed_in(page, live_server, address: str) -> None:
    """The page's browser signed in as a user whose linked wallet is `address`."""
    client = Client()
    client.force_login(WalletFactory(address=address).user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def _panel(page, address: str):
    return page.locator(f'[data-escrow][data-escrow-address="{address}"]')


def test_a_user_signs_in_with_the_wallet_deposits_then_withdraws(
    live_server, page, anvil, hub, buyer
):
    wallet = inject_wallet(page, buyer, rpc_url=anvil.url)

    # Sign in with Ethereum (personal_sign by the injected wallet), back to the Wallets page.
    page.goto(live_server.url + "/accounts/login/?next=/accounts/wallets/")
    page.get_by_role("button", name="Sign in with wallet").click()
    page.wait_for_url(live_server.url + "/accounts/wallets/")
    assert Wallet.objects.filter(address=buyer.address).exists()

    panel = _panel(page, buyer.address)
    expect(panel.locator("[data-escrow-wallet]")).to_have_text("100 ECT")
    expect(panel.locator("[data-escrow-stake]")).to_have_text("0 ECT")
    expect(panel.locator("[data-escrow-locked]")).to_have_text("0 ECT")
    expect(page.get_by_role("heading", name="Escrow")).to_be_visible()
    expect(page.get_by_text("orders are paid from it")).to_be_visible()

    # Deposit: the permit is signed, then one transaction is sent.
    panel.get_by_label("Deposit (ECT)").fill("25")
    panel.get_by_role("button", name=re.compile("^Deposit into")).click()
    expect(panel.get_by_role("status")).to_have_text("Deposited 25 ECT", timeout=20_000)
    expect(panel.locator("[data-escrow-stake]")).to_have_text("25 ECT")
    expect(panel.locator("[data-escrow-wallet]")).to_have_text("75 ECT")
    # The wallets table, rendered by the server, is read again too.
    row = page.locator("#wallet-table tr", has_text=buyer.address)
    expect(row).to_contain_text("75 ECT")
    expect(row).to_contain_text("25 ECT")

    assert hub.account(buyer.address).stake == 25 * ECT
    assert hub.token_balance(buyer.address) == 75 * ECT
    assert wallet.calls.count("eth_signTypedData_v4") == 1
    assert wallet.calls.count("eth_sendTransaction") == 1
    assert "wallet_switchEthereumChain" not in wallet.calls  # already on the right chain

    # Withdraw part of it.
    panel.get_by_label("Withdraw (ECT)").fill("10.5")
    panel.get_by_role("button", name=re.compile("^Withdraw from")).click()
    expect(panel.get_by_role("status")).to_have_text("Withdrew 10.5 ECT", timeout=20_000)
    expect(panel.locator("[data-escrow-stake]")).to_have_text("14.5 ECT")
    expect(panel.locator("[data-escrow-wallet]")).to_have_text("85.5 ECT")

    assert hub.account(buyer.address).stake == 14_500_000_000
    assert hub.token_balance(buyer.address) == 85_500_000_000
    assert len(wallet.sent) == 2
    expect(panel.get_by_role("alert")).to_be_hidden()


def test_a_declined_signature_shows_the_message_and_moves_nothing(
    live_server, page, anvil, chain, hub, buyer
):
    wallet = inject_wallet(page, buyer, rpc_url=anvil.url, reject={"eth_signTypedData_v4"})
    _signed_in(page, live_server, buyer.address)
    page.goto(live_server.url + "/accounts/wallets/")
    panel = _panel(page, buyer.address)
    expect(panel.locator("[data-escrow-wallet]")).to_have_text("100 ECT")
    nonce = chain.eth.get_transaction_count(buyer.address)

    panel.get_by_label("Deposit (ECT)").fill("25")
    panel.get_by_role("button", name=re.compile("^Deposit into")).click()

    expect(panel.get_by_role("alert")).to_have_text(
        "You declined the signature in your wallet: nothing was moved. Click again and sign to "
        "continue."
    )
    expect(panel.get_by_role("status")).to_have_text("")
    expect(panel.get_by_role("button", name=re.compile("^Deposit into"))).to_be_enabled()
    assert "eth_sendTransaction" not in wallet.calls
    assert chain.eth.get_transaction_count(buyer.address) == nonce
    assert hub.account(buyer.address).stake == 0
    assert hub.token_balance(buyer.address) == 100 * ECT

    # The user changes their mind: the same form works.
    wallet.reject.clear()
    panel.get_by_role("button", name=re.compile("^Deposit into")).click()
    expect(panel.get_by_role("status")).to_have_text("Deposited 25 ECT", timeout=20_000)
    expect(panel.get_by_role("alert")).to_be_hidden()
    assert hub.account(buyer.address).stake == 25 * ECT


def test_a_refusal_is_explained_before_the_wallet_is_asked(
    live_server, page, anvil, chain, hub, buyer
):
    wallet = inject_wallet(page, buyer, rpc_url=anvil.url)
    _signed_in(page, live_server, buyer.address)
    page.goto(live_server.url + "/accounts/wallets/")
    panel = _panel(page, buyer.address)

    panel.get_by_label("Withdraw (ECT)").fill("5")
    panel.get_by_role("button", name=re.compile("^Withdraw from")).click()
    expect(panel.get_by_role("alert")).to_have_text("Your escrow holds nothing free to withdraw.")

    panel.get_by_label("Deposit (ECT)").fill("100.5")
    panel.get_by_role("button", name=re.compile("^Deposit into")).click()
    expect(panel.get_by_role("alert")).to_have_text(
        "Your wallet holds 100 ECT: deposit at most that, or get ECT from the faucet on the "
        "Wallets page."
    )
    assert "eth_signTypedData_v4" not in wallet.calls
    assert "eth_sendTransaction" not in wallet.calls


def test_a_wallet_on_another_chain_is_switched_to_the_sites_chain(
    live_server, page, anvil, hub, buyer
):
    wallet = inject_wallet(page, buyer, rpc_url=anvil.url, chain_id=1)
    _signed_in(page, live_server, buyer.address)
    page.goto(live_server.url + "/accounts/wallets/")
    panel = _panel(page, buyer.address)
    expect(panel.locator("[data-escrow-wallet]")).to_have_text("100 ECT")

    panel.get_by_label("Deposit (ECT)").fill("1.000000001")
    panel.get_by_role("button", name=re.compile("^Deposit into")).click()
    expect(panel.get_by_role("status")).to_have_text("Deposited 1.000000001 ECT", timeout=20_000)

    assert wallet.chain_id == 31337
    switch, add = (
        wallet.calls.index("wallet_switchEthereumChain"),
        wallet.calls.index("wallet_addEthereumChain"),
    )
    assert switch < add < wallet.calls.index("eth_signTypedData_v4")
    assert wallet.added_chains == {
        31337: {
            "chainId": "0x7a69",
            "chainName": "SuperEdge dev chain",
            "rpcUrls": [anvil.url],
            "nativeCurrency": {"name": "Ether", "symbol": "ETH", "decimals": 18},
        }
    }
    assert hub.account(buyer.address).stake == 1_000_000_001


def test_declining_the_network_switch_says_why_it_is_needed(live_server, page, anvil, hub, buyer):
    wallet = inject_wallet(
        page, buyer, rpc_url=anvil.url, chain_id=1, reject={"wallet_switchEthereumChain"}
    )
    _signed_in(page, live_server, buyer.address)
    page.goto(live_server.url + "/accounts/wallets/")
    panel = _panel(page, buyer.address)

    panel.get_by_label("Deposit (ECT)").fill("5")
    panel.get_by_role("button", name=re.compile("^Deposit into")).click()

    expect(panel.get_by_role("alert")).to_have_text(
        "You declined to switch your wallet to SuperEdge dev chain (chain 31337): SuperEdge's "
        "escrow is on that network, so switch to continue."
    )
    assert wallet.chain_id == 1
    assert hub.account(buyer.address).stake == 0


def test_two_wallets_in_two_pages_deposit_each_their_own(
    live_server, browser, anvil, hub, hub_deployment, buyer, dev_accounts
):
    operator = dev_accounts[6]
    send_ect(hub_deployment, dev_accounts[0], operator.address, 50 * ECT)
    pages = []
    for account, amount in ((buyer, "3"), (operator, "7")):
        page = browser.new_context().new_page()
        inject_wallet(page, account, rpc_url=anvil.url)
        _signed_in(page, live_server, account.address)
        page.goto(live_server.url + "/accounts/wallets/")
        panel = _panel(page, account.address)
        panel.get_by_label("Deposit (ECT)").fill(amount)
        panel.get_by_role("button", name=re.compile("^Deposit into")).click()
        pages.append((page, panel, amount))

    for page, panel, amount in pages:
        expect(panel.get_by_role("status")).to_have_text(f"Deposited {amount} ECT", timeout=20_000)
        page.context.close()

    assert hub.account(buyer.address).stake == 3 * ECT
    assert hub.account(operator.address).stake == 7 * ECT


def test_balances_that_cannot_be_read_say_so_and_can_be_retried(live_server, page, anvil, buyer):
    Deployment.objects.all().delete()
    _signed_in(page, live_server, buyer.address)
    page.goto(live_server.url + "/accounts/wallets/")
    panel = _panel(page, buyer.address)

    expect(panel.locator("[data-escrow-problem]")).to_contain_text(
        "Could not read the balances: SuperEdge's contracts are not deployed on chain 31337"
    )
    expect(panel.locator("[data-escrow-balances]")).to_be_hidden()
    expect(panel.locator("[data-escrow-loading]")).to_be_hidden()
    expect(page.get_by_role("alert")).to_have_count(0)


def test_wallet_js_reports_a_transaction_mined_but_reverted(live_server, page, anvil, hub, buyer):
    wallet = inject_wallet(page, buyer, rpc_url=anvil.url)
    page.goto(live_server.url + "/")
    # A withdrawal from an empty escrow, with its gas given so that the wallet sends it as is.
    transaction = {
        "from": buyer.address,
        "to": hub.address,
        "data": "0x" + hub.withdraw_call(amount=ECT).data.hex(),
        "value": "0x0",
        "gas": hex(200_000),
        "chainId": "0x7a69",
    }

    outcome = page.evaluate(
        """async (tx) => {
          const api = window.SuperEdgeWallet;
          const chain = await api.ensureChain();
          const held = await api.balances(tx.from);
          try { await api.sendTransaction(tx); return { chain, held, error: null }; }
          catch (error) { return { chain, held, error: error.message }; }
        }""",
        transaction,
    )

    assert outcome["chain"] == 31337
    assert outcome["held"]["wallet"] == "100"
    assert outcome["error"].startswith("The transaction was mined but reverted: ")
    receipt = hub.w3.eth.get_transaction_receipt(wallet.sent[0])
    assert receipt["status"] == 0


def test_the_faucet_says_what_it_sent_and_the_page_shows_one_balance(
    live_server, page, anvil, hub, hub_deployment, dev_accounts, buyer
):
    send_ect(hub_deployment, dev_accounts[0], FAUCET, 10_000 * ECT)
    inject_wallet(page, buyer, rpc_url=anvil.url)
    _signed_in(page, live_server, buyer.address)
    page.goto(live_server.url + "/accounts/wallets/")
    panel, result = _panel(page, buyer.address), page.locator("#faucet-result")
    row = page.locator("#wallet-table tr", has_text=buyer.address)
    expect(panel.locator("[data-escrow-wallet]")).to_have_text("100 ECT")
    expect(row).to_contain_text("100 ECT")

    page.get_by_role("button", name=f"Get test ECT for {buyer.address}").click()

    # The table and the escrow panel both read the wallet's new balance...
    expect(row).to_contain_text("1,100 ECT")
    expect(panel.locator("[data-escrow-wallet]")).to_have_text("1,100 ECT")
    # ...and the message stays once the table is read again
    expect(result).to_contain_text("Sent 1,000 ECT and 1 ETH to")
    expect(result.locator(".msg-success")).to_be_visible()
    # A second drip is answered in the same place: its refusal replaces the message
    page.get_by_role("button", name=f"Get test ECT for {buyer.address}").click()
    expect(result).to_contain_text("You used the faucet less than a minute ago")
    expect(panel.locator("[data-escrow-wallet]")).to_have_text("1,100 ECT")
