"""The wallets page with the chain's template tags: holdings of each wallet, the faucet button
on the dev chain only, and a page that still renders when the chain is down."""

from __future__ import annotations

import pytest
from django.urls import reverse

from marketplace.chain import keys, services
from tests.chain_scaffold import ECT, closed_port_url, send_ect
from tests.factories.accounts import WalletFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallet(client):
    wallet = WalletFactory()
    client.force_login(wallet.user)
    return wallet


def _page(client) -> str:
    response = client.get(reverse("wallet_list"))
    assert response.status_code == 200
    return response.content.decode()


def test_wallets_page_shows_each_wallets_ect_and_escrow(client, chain, wallet):
    deployment, _ = services.contracts_deploy()
    send_ect(deployment, keys.server_account("deployer"), wallet.address, 1234 * ECT + ECT // 2)

    html = _page(client)

    assert "<th>ECT</th><th>Hub escrow</th>" in html
    assert '<td class="num">1,234.5 ECT</td>' in html
    assert '<td class="num">0 ECT</td>' in html


def test_wallets_page_renders_when_the_chain_is_down(client, chain, wallet, settings):
    services.contracts_deploy()
    settings.WEB3_RPC_URL = closed_port_url()

    html = _page(client)

    assert "chain unreachable" in html
    assert wallet.address in html


def test_wallets_page_before_the_contracts_are_deployed(client, wallet):
    assert "contracts not deployed" in _page(client)


def test_faucet_button_on_the_dev_chain(client, wallet):
    html = _page(client)

    assert f'action="{reverse("chain_faucet")}"' in html
    assert f'name="address" value="{wallet.address}"' in html
    assert 'id="faucet-result"' in html


def test_no_faucet_button_off_the_dev_chain(client, wallet, settings):
    settings.CHAIN_ID = 1

    html = _page(client)

    assert reverse("chain_faucet") not in html
    assert 'id="faucet-result"' not in html
