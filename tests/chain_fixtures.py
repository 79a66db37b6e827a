"""Chain fixtures for the whole suite (registered in tests/conftest.py).

- `anvil`: one anvil per test process (per xdist worker), on a free 127.0.0.1 port, stopped at
  the end of the session. While it runs, settings.WEB3_RPC_URL points at it and
  settings.CHAIN_ID is 31337, so code under test that calls `marketplace.chain.client.web3()`
  talks to it.
- `w3`: the Web3 of that anvil (session).
- `chain`: use this one in tests that change the chain. It takes an `evm_snapshot` before the
  test and reverts to it after, so every test starts from the same chain; it yields `w3`.
- `dev_accounts`: anvil's ten funded development accounts (eth_account LocalAccounts).
- `hub_deployment`: ECT, the registries and the Hub deployed once per test process
  (`marketplace.chain.deploy.HubDeployment`: addresses and first block).
- `opened_market`: `Market.open` (tests.chain_scaffold) once per test module,
  inside a snapshot of its own reverted at the module's end. Module-scoped fixtures are set up
  before a test's `chain` snapshot, so each test starts from the opened market and leaves it as
  it found it: a module's `market` fixture is `chain` plus `opened_market.copy()`, and no
  longer sends the market's eleven transactions before every test. (From the first test that
  asks for it to the module's end, the module's other tests see the market too.)
"""

from __future__ import annotations

import pytest
from django.test import override_settings

# marketplace.chain's modules are imported inside the fixtures: web3 takes most of a second to
# import, which test processes that never touch the chain need not pay.


@pytest.fixture(scope="session")
def anvil():
    from marketplace.chain.anvil import DEV_CHAIN_ID, running_anvil

    # Settings for the whole session: pytest-django's `settings` fixture is function-scoped.
    with (
        running_anvil() as node,
        override_settings(WEB3_RPC_URL=node.url, CHAIN_ID=DEV_CHAIN_ID),
    ):
        yield node


@pytest.fixture(scope="session")
def w3(anvil):
    from marketplace.chain import client

    return client.web3(url=anvil.url)


@pytest.fixture
def chain(anvil, w3):
    from marketplace.chain import client

    snapshot = client.rpc("evm_snapshot", w3=w3)
    yield w3
    client.rpc("evm_revert", [snapshot], w3=w3)


@pytest.fixture(scope="session")
def dev_accounts(anvil):
    from marketplace.chain.keys import dev_account

    return [dev_account(index) for index in range(10)]


@pytest.fixture(scope="session")
def hub_deployment(anvil, w3, dev_accounts):
    """ECT, the registries and the Hub, deployed once per test process by dev account 0 (which
    owns the Hub and holds the whole ECT supply). Session-scoped fixtures are set up before a
    test's `chain` snapshot, so reverting never undeploys them."""
    from marketplace.chain.deploy import deploy_hub

    return deploy_hub(w3, dev_accounts[0])


@pytest.fixture(scope="module")
def opened_market(anvil, w3, hub_deployment, dev_accounts):
    from marketplace.chain import client
    from tests.chain_scaffold import Market

    snapshot = client.rpc("evm_snapshot", w3=w3)
    yield Market.open(w3=w3, deployment=hub_deployment, accounts=dev_accounts)
    client.rpc("evm_revert", [snapshot], w3=w3)
