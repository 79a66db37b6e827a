"""Moving escrow from a browser wallet: the rules a deposit or a withdrawal must meet, checked
before the wallet is asked anything, and the typed data and transactions the wallet signs and
sends. A deposit is an EIP-2612 permit of ECT then `depositWithPermit`: one signature, one
transaction.

Amounts are ECT base units. A broken rule raises `EscrowRuleBroken`, whose message says which
rule and what to do; the chain's own refusals (a revert at gas estimation) are `ChainRevert`s,
a node that does not answer `ChainUnavailable`, contracts that are not there `ContractMissing`.
Nothing here sends anything: the wallet does.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings

from marketplace.chain.amounts import ETH_DECIMALS, format_amount, format_ect, from_units
from marketplace.chain.anvil import DEV_CHAIN_ID
from marketplace.chain.errors import ChainError, short_address
from marketplace.chain.hub_errors import format_time
from marketplace.chain.selectors import current_hub
from marketplace.chain.signing import permit_signer

if TYPE_CHECKING:
    from marketplace.chain.hub import ContractCall, Hub

# How long a permit the server builds stays valid: time to read the wallet's prompt and sign.
PERMIT_SECONDS = 3600


class EscrowRuleBroken(ChainError):
    """A deposit or withdrawal breaks a rule of the escrow; the message says which and what to
    do. Nothing was signed or sent."""


@dataclasses.dataclass(frozen=True)
class DepositPermit:
    """The permit a wallet signs (`eth_signTypedData_v4`) to deposit, valid until `deadline`
    (unix seconds)."""

    typed_data: dict[str, Any]
    deadline: int


def _ect_hint() -> str:
    if settings.CHAIN_ID == DEV_CHAIN_ID:
        return "get ECT from the faucet on the Wallets page"
    return "buy ECT first"


def _eth_hint() -> str:
    if settings.CHAIN_ID == DEV_CHAIN_ID:
        return "get ETH from the faucet on the Wallets page"
    return "send some ETH to this wallet first"


def _chain_now(hub: Hub) -> int:
    """The later of the latest block's time and the clock: what a deadline must be after."""
    return max(hub.chain_time(), int(time.time()))


def _payable_transaction(call: ContractCall, *, hub: Hub, sender: str) -> dict[str, str]:
    """`call`'s unsigned transaction from `sender` (its gas estimated: ChainRevert when it would
    revert), refused in words when the wallet cannot pay that gas (the wallet would refuse it
    less clearly, or the user would sign for nothing)."""
    w3 = hub.w3
    transaction = call.unsigned_transaction(sender=sender, w3=w3)
    fee = int(transaction["gas"], 16) * w3.eth.gas_price
    held = w3.eth.get_balance(sender)
    if held < fee:
        raise EscrowRuleBroken(
            f"Your wallet holds {format_amount(from_units(held, decimals=ETH_DECIMALS))} ETH, "
            f"not enough for the gas of this transaction (about "
            f"{format_amount(from_units(fee, decimals=ETH_DECIMALS))} ETH): {_eth_hint()}, "
            "then try again."
        )
    return transaction


def escrow_deposit_permit(*, owner: str, amount: int) -> DepositPermit:
    """Step 1 of a deposit of `amount` from `owner`'s wallet to its escrow: the permit to sign.
    Refused when the wallet holds less ECT than that, or no ETH for the deposit's gas."""
    hub = current_hub()
    held = hub.token_balance(owner)
    if amount > held:
        if held == 0:
            raise EscrowRuleBroken(f"Your wallet holds no ECT: {_ect_hint()}, then deposit.")
        raise EscrowRuleBroken(
            f"Your wallet holds {format_ect(held)}: deposit at most that, or {_ect_hint()}."
        )
    if hub.w3.eth.get_balance(owner) == 0:
        raise EscrowRuleBroken(
            f"Your wallet holds no ETH to pay the gas of the deposit: {_eth_hint()}, then deposit."
        )
    deadline = _chain_now(hub) + PERMIT_SECONDS
    typed_data = hub.permit_typed_data(owner=owner, amount=amount, deadline=deadline)
    return DepositPermit(typed_data=typed_data, deadline=deadline)


def escrow_deposit_transaction(
    *, owner: str, amount: int, deadline: int, signature: bytes
) -> dict[str, str]:
    """Step 2 of a deposit: the `depositWithPermit` transaction `owner`'s wallet sends, from the
    permit it signed in step 1 (`signature`, 65 bytes). Refused when the permit expired, is not
    `owner`'s for this amount and deadline (unless an allowance it gave already covers the
    amount), or the wallet cannot pay the gas; ChainRevert when the chain would refuse it."""
    hub = current_hub()
    if deadline <= _chain_now(hub):
        raise EscrowRuleBroken(f"The permit expired at {format_time(deadline)}: sign a new one.")
    typed_data = hub.permit_typed_data(owner=owner, amount=amount, deadline=deadline)
    # depositWithPermit tolerates a permit used already (front-run) while the allowance it gave
    # still covers the amount; anything else would fail for want of allowance.
    if permit_signer(typed_data, signature) != owner and hub.token_allowance(owner) < amount:
        raise EscrowRuleBroken(
            f"This signature is not {short_address(owner)}'s permit for {format_ect(amount)} "
            "with this deadline (another account signed it, or another amount, or the permit "
            "was used already): sign the permit again."
        )
    call = hub.deposit_with_permit_call(amount=amount, deadline=deadline, signature=signature)
    return _payable_transaction(call, hub=hub, sender=owner)


def escrow_withdraw_transaction(*, owner: str, amount: int) -> dict[str, str]:
    """The `withdraw` transaction `owner`'s wallet sends to take `amount` of its free escrow
    back. Refused beyond the free stake (locked escrow waits for its deals' tasks to end), or
    when the wallet cannot pay the gas."""
    hub = current_hub()
    account = hub.account(owner)
    if amount > account.stake:
        locked = (
            f" ({format_ect(account.locked)} more is locked in deals until their tasks end)"
            if account.locked
            else ""
        )
        if account.stake == 0:
            raise EscrowRuleBroken(f"Your escrow holds nothing free to withdraw{locked}.")
        raise EscrowRuleBroken(
            f"Your escrow holds {format_ect(account.stake)} free{locked}: withdraw at most "
            f"{format_ect(account.stake)}."
        )
    return _payable_transaction(hub.withdraw_call(amount=amount), hub=hub, sender=owner)
