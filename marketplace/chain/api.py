"""The escrow API: what an address holds in ECT and in Hub escrow, and the transactions a browser
wallet sends to deposit (EIP-2612 permit + `depositWithPermit`: one signature, one transaction)
and to withdraw.

The server builds every typed data and calldata; the browser (wallet.js) only asks the wallet
to sign and send them. Every refusal is a sentence in {"error": ...}, given before the user is
asked to sign or to pay any gas: 400 for the input or a rule of the escrow, 401 when nobody is
signed in (403 for a session: DRF answers 401 only when an authenticator sends WWW-Authenticate),
403 for a wallet that is not the user's, 503 when the node or our contracts are not there.

The views parse and check the input, then call one service (marketplace.chain.escrow, where the
escrow's rules are). web3 (most of a second to import) is imported inside the functions that
need it: the URLconf loads this module in every process.
"""

from __future__ import annotations

import re
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import (
    NotAuthenticated,
    PermissionDenied,
)
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.accounts.selectors import wallet_list
from marketplace.addresses import checksum_matches, is_address, normalize
from marketplace.api import ADDRESS_SCHEMA, error_responses
from marketplace.chain import escrow, selectors
from marketplace.chain.amounts import ECT_DECIMALS, InvalidAmount, from_units, to_units
from marketplace.chain.errors import ChainError, ChainUnavailable, ContractMissing
from marketplace.errors import AppError, Unavailable

MAX_UINT256 = 2**256 - 1
_MAX_ECT = from_units(MAX_UINT256, decimals=ECT_DECIMALS)
_AMOUNT_MAX_LENGTH = 100
_SIGNATURE = re.compile(r"0x[0-9a-fA-F]{130}")


# ---------------------------------------------------------------------------- refusals


class EscrowRefused(AppError):
    """The request breaks a rule of the escrow (400); the message says which and what to do."""


class EscrowUnavailable(Unavailable):
    """The node does not answer, or our contracts are not on it (503)."""


def _node_down() -> EscrowUnavailable:
    return EscrowUnavailable(
        "The blockchain node does not answer, so escrow can be neither read nor moved right "
        "now: try again in a minute."
    )


def _not_deployed() -> EscrowUnavailable:
    return EscrowUnavailable(
        f"SuperEdge's contracts are not deployed on chain {settings.CHAIN_ID}, so there is no "
        "escrow yet: an operator must deploy them first (manage.py deploy_contracts)."
    )


# ---------------------------------------------------------------------------- input


def checked_address(text: str) -> str:
    """`text` checksummed; EscrowRefused naming the problem when it is no Ethereum address."""
    text = text.strip()
    if not is_address(text):
        raise EscrowRefused(
            f"{text[:60]!r} is not an Ethereum address: expected 0x followed by 40 hexadecimal "
            "digits."
        )
    if not checksum_matches(text):
        raise EscrowRefused(
            f"{text} has a wrong checksum (the mix of upper- and lower-case letters, EIP-55): "
            "copy it again from your wallet."
        )
    return normalize(text)


def parse_ect(text: str) -> int:
    """`text` ECT as base units: a positive number with at most 9 decimals that fits a uint256;
    EscrowRefused saying what is wrong otherwise."""
    text = text.strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise EscrowRefused(
            f"{text[:40]!r} is not an amount of ECT: write a number such as 25 or 0.5."
        )
    if value <= 0:
        raise EscrowRefused(f"The amount must be more than 0 ECT, not {text}.")
    # Before converting: an exponent like 1e999999999 would make an integer of a billion digits.
    if value > _MAX_ECT:
        raise EscrowRefused(
            f"{text} ECT is more than any account can hold (at most 2^256 - 1 base units): "
            "check the amount."
        )
    try:
        return to_units(text, decimals=ECT_DECIMALS, currency="ECT")
    except InvalidAmount as error:
        raise EscrowRefused(str(error)) from error


def ect_text(units: int) -> str:
    """Base units as a plain ECT decimal string: 25_500_000_000 → "25.5", 1 → "0.000000001"."""
    whole, fraction = divmod(units, 10**ECT_DECIMALS)
    decimals = f"{fraction:0{ECT_DECIMALS}d}".rstrip("0")
    return f"{whole}.{decimals}" if decimals else str(whole)


def _required(what: str) -> dict[str, str]:
    return {"required": f"Give {what}.", "blank": f"Give {what}.", "null": f"Give {what}."}


class _AddressField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            max_length=42,
            help_text="The wallet: one linked to your account (0x and 40 hexadecimal digits).",
            error_messages={
                **_required("the address of your wallet"),
                "max_length": "An Ethereum address has 42 characters: 0x and 40 hexadecimal "
                "digits.",
                "invalid": "The address must be a string: 0x and 40 hexadecimal digits.",
            },
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> str:
        try:
            return checked_address(super().to_internal_value(data))
        except EscrowRefused as refusal:
            refusal.field = self.field_name
            raise


class _AmountField(serializers.CharField):
    """An amount of ECT in, as a decimal string ("25", "0.5"); out, as integer base units."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            help_text='ECT, as a decimal string with at most 9 decimals ("25", "0.5").',
            error_messages={
                **_required('the amount of ECT, such as "25" or "0.5"'),
                "invalid": 'The amount must be a string such as "25" or "0.5".',
            },
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> int:
        text = super().to_internal_value(data)
        # Not CharField's max_length: its validator would run on the integer this returns.
        if len(text) > _AMOUNT_MAX_LENGTH:
            raise EscrowRefused(
                f"An amount has at most {_AMOUNT_MAX_LENGTH} characters.", field=self.field_name
            )
        try:
            return parse_ect(text)
        except EscrowRefused as refusal:
            refusal.field = self.field_name
            raise


def _wallet_request(
    request: Request, serializer_class: type[serializers.Serializer]
) -> tuple[dict[str, Any], str, int]:
    """The request's valid input, the signed-in user's wallet it names, and its amount (base
    units)."""
    if not isinstance(request.data, dict):
        raise EscrowRefused("Send a JSON object.")
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    return data, _owned_wallet(request, data["address"]), data["amount"]


class _SignedIn(BasePermission):
    message = "Sign in first: only the owner of a linked wallet may move its escrow."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated)


def _owned_wallet(request: Request, address: str) -> str:
    """`address` if it is one of the signed-in user's linked wallets; 403 otherwise."""
    if not wallet_list(user=request.user).filter(address__iexact=address).exists():
        raise PermissionDenied(
            f"{address} is not one of your linked wallets: link it on the Wallets page first, "
            "then try again."
        )
    return address


# ---------------------------------------------------------------------------- serializers


class TransactionSerializer(serializers.Serializer):
    """What `eth_sendTransaction` takes, as 0x hex strings; the wallet picks nonce and fees."""

    # "from" is a Python keyword: the field is declared as from_ and renamed in get_fields.
    from_ = serializers.CharField(help_text="The wallet that sends it.")
    to = serializers.CharField(help_text="The Hub.")
    data = serializers.CharField(help_text="Calldata.")
    value = serializers.CharField(help_text='Always "0x0".')
    chainId = serializers.CharField(help_text="The chain it is for.")
    gas = serializers.CharField(help_text="Estimated now, with a margin.")

    class Meta:
        ref_name = "EscrowTransaction"

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class _WalletAmountInputSerializer(serializers.Serializer):
    address = _AddressField()
    amount = _AmountField()


class _AmountOutputSerializer(serializers.Serializer):
    amount = serializers.CharField(help_text='ECT, as a decimal string ("25.5").')
    amount_units = serializers.CharField(help_text="The same in ECT base units (9 decimals).")


class _TransactionOutputSerializer(_AmountOutputSerializer):
    transaction = TransactionSerializer()


def _amounts(units: int) -> dict[str, str]:
    return {"amount": ect_text(units), "amount_units": str(units)}


_UNAVAILABLE = "The node does not answer, or the contracts are not deployed."
# Moving escrow: the signed-in user's own wallet only (401 and CSRF's 403 are generated).
_MOVE_ERRORS = error_responses(
    _400="Refused: the error says why.",
    _403="Not one of your linked wallets.",
    _503=_UNAVAILABLE,
)


class _EscrowApi(APIView):
    permission_classes = [_SignedIn]

    def chain_failure(self, error: Exception) -> AppError | None:
        """The chain's failures in escrow's words (marketplace.api.app_error): the node down or
        our contracts missing are a 503, a broken rule, a revert or the node's refusal a 400."""
        if isinstance(error, ChainUnavailable):
            return _node_down()
        if isinstance(error, ContractMissing):  # no deployment, or a Hub without its code
            return _not_deployed()
        if isinstance(error, ChainError):  # a rule, a revert at gas estimation, the node refused
            return EscrowRefused(str(error))
        # A call to an address without our code (a dev chain restarted without its state).
        # Not imported for this (most of a second, the module's docstring): an error can be
        # one of web3's only once web3 is loaded.
        web3_errors = sys.modules.get("web3.exceptions")
        if web3_errors is not None and isinstance(error, web3_errors.Web3Exception):
            return _not_deployed()
        return None

    def permission_denied(self, request: Request, message: str | None = None, code=None) -> None:
        # DRF's own drops the message when nobody is authenticated.
        if request.authenticators and not request.successful_authenticator:
            raise NotAuthenticated(message)
        raise PermissionDenied(message)


# ---------------------------------------------------------------------------- views


class EscrowDetailApi(_EscrowApi):
    """What an address holds: ECT in its wallet, and in Hub escrow (free stake, locked)."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        address = serializers.CharField(help_text="Checksummed.")
        wallet_units = serializers.CharField(help_text="ECT in the wallet, in base units.")
        stake_units = serializers.CharField(
            help_text="Free escrow, in base units: orders are paid from it, it can be withdrawn."
        )
        locked_units = serializers.CharField(
            help_text="Escrow held for running deals and contributions, in base units."
        )
        wallet = serializers.CharField(help_text='The same in ECT ("12.5").')
        stake = serializers.CharField(help_text="ECT.")
        locked = serializers.CharField(help_text="ECT.")

        class Meta:
            ref_name = "EscrowAccount"

    @extend_schema(
        tags=["escrow"],
        summary="Wallet and escrow balances of an address",
        parameters=[
            OpenApiParameter(
                "address",
                ADDRESS_SCHEMA,
                OpenApiParameter.PATH,
                description="Any Ethereum address (EIP-55 checksummed when in mixed case).",
            )
        ],
        responses={
            200: OutputSerializer,
            **error_responses(_400="Not an address, or a wrong checksum.", _503=_UNAVAILABLE),
        },
    )
    def get(self, request: Request, address: str) -> Response:
        address = checked_address(address)
        onchain = selectors.wallets_on_chain(addresses=[address])
        if onchain.problem == selectors.CHAIN_UNREACHABLE:
            raise _node_down()
        holdings = onchain.of(address)
        if holdings is None:
            raise _not_deployed()
        units = {
            name: to_units(amount, decimals=ECT_DECIMALS, currency="ECT")
            for name, amount in (
                ("wallet", holdings.ect),
                ("stake", holdings.stake),
                ("locked", holdings.locked),
            )
        }
        return Response(
            self.OutputSerializer(
                {
                    "address": address,
                    **{f"{name}_units": str(value) for name, value in units.items()},
                    **{name: ect_text(value) for name, value in units.items()},
                }
            ).data
        )


class EscrowDepositPermitApi(_EscrowApi):
    """Step 1 of a deposit: the EIP-2612 permit for the wallet to sign (`eth_signTypedData_v4`).

    Its signature goes, with the same amount and the returned deadline, to deposit/."""

    class InputSerializer(_WalletAmountInputSerializer):
        class Meta:
            ref_name = "EscrowDepositPermitInput"

    class OutputSerializer(_AmountOutputSerializer):
        typed_data = serializers.JSONField(
            help_text="EIP-712 Permit(owner, spender=Hub, value, nonce, deadline) of ECT, uint256 "
            "as decimal strings: pass JSON.stringify(typed_data) to eth_signTypedData_v4."
        )
        deadline = serializers.IntegerField(help_text="Unix seconds the permit is valid until.")

        class Meta:
            ref_name = "EscrowDepositPermit"

    @extend_schema(
        tags=["escrow"],
        summary="Build the permit to sign for a deposit",
        request=InputSerializer,
        responses={200: OutputSerializer, **_MOVE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        _, address, units = _wallet_request(request, self.InputSerializer)
        permit = escrow.escrow_deposit_permit(owner=address, amount=units)
        return Response(
            self.OutputSerializer(
                {"typed_data": permit.typed_data, "deadline": permit.deadline, **_amounts(units)}
            ).data
        )


class EscrowDepositApi(_EscrowApi):
    """Step 2 of a deposit: the `depositWithPermit` transaction for `eth_sendTransaction`, from
    the permit signed in step 1. Checked now (signature, deadline, gas estimate) so that a
    transaction that would fail is refused before the wallet asks for anything."""

    class InputSerializer(_WalletAmountInputSerializer):
        deadline = serializers.IntegerField(
            min_value=0,
            max_value=MAX_UINT256,
            help_text="The deadline the permit step returned.",
            error_messages={
                **_required("the permit's deadline, as the permit step returned it"),
                "invalid": "The deadline must be the whole number the permit step returned.",
                "min_value": "The deadline must be the whole number the permit step returned.",
                "max_value": "The deadline must be the whole number the permit step returned.",
                "max_string_length": "The deadline must be the whole number the permit step "
                "returned.",
            },
        )
        signature = serializers.RegexField(
            _SIGNATURE,
            help_text="The wallet's signature of the permit: 0x and 130 hexadecimal digits.",
            error_messages={
                **_required("the wallet's signature of the permit"),
                "invalid": "The signature must be 0x and 130 hexadecimal digits, as "
                "eth_signTypedData_v4 returns it.",
            },
        )

        class Meta:
            ref_name = "EscrowDepositInput"

    class OutputSerializer(_TransactionOutputSerializer):
        class Meta:
            ref_name = "EscrowDeposit"

    @extend_schema(
        tags=["escrow"],
        summary="Build the deposit transaction from a signed permit",
        request=InputSerializer,
        responses={200: OutputSerializer, **_MOVE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data, address, units = _wallet_request(request, self.InputSerializer)
        transaction = escrow.escrow_deposit_transaction(
            owner=address,
            amount=units,
            deadline=data["deadline"],
            signature=bytes.fromhex(data["signature"][2:]),
        )
        return Response(self.OutputSerializer({"transaction": transaction, **_amounts(units)}).data)


class EscrowWithdrawApi(_EscrowApi):
    """The `withdraw` transaction for `eth_sendTransaction`: free escrow back to the wallet.
    Locked escrow cannot be withdrawn until the deals holding it end."""

    class InputSerializer(_WalletAmountInputSerializer):
        class Meta:
            ref_name = "EscrowWithdrawInput"

    class OutputSerializer(_TransactionOutputSerializer):
        class Meta:
            ref_name = "EscrowWithdraw"

    @extend_schema(
        tags=["escrow"],
        summary="Build the withdraw transaction",
        request=InputSerializer,
        responses={200: OutputSerializer, **_MOVE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        _, address, units = _wallet_request(request, self.InputSerializer)
        transaction = escrow.escrow_withdraw_transaction(owner=address, amount=units)
        return Response(self.OutputSerializer({"transaction": transaction, **_amounts(units)}).data)
