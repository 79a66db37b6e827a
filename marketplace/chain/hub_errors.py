"""Messages for people for every custom error of the Hub, the ECT token, the registries and the
assets: which rule failed and what to do about it.

Importing this module registers them with `marketplace.chain.errors.register_message`. Decode
reverts with `hub_abis()`: whoever takes the ABIs from here has the messages registered::

    sender = TransactionSender(account, abis=hub_abis())
    ...
    except ChainRevert as refusal:
        str(refusal)  # "The app costs 2 ECT but your request allows at most 1.5 ECT: ..."

A registered message applies to an error by name. Another contract may declare an error of the
same name with other arguments: its message is then the generic one (`describe_error`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from marketplace.chain import artifacts
from marketplace.chain.amounts import format_ect
from marketplace.chain.errors import describe_error, register_message, short_address
from marketplace.chain.ids import ContributionStatus, OrderKind, TaskStatus

# Contracts whose errors can reach a client: the Hub (its modules included), ECT (its transfer
# errors bubble up through deposits), the registries and the assets.
HUB_ABI_CONTRACTS = (
    "Hub",
    "ECT",
    "AppRegistry",
    "DatasetRegistry",
    "WorkerpoolRegistry",
    "App",
    "Dataset",
    "Workerpool",
)

# The longest reference time of a category (HubAccounts.MAX_TIME_REF: a bond's 7-day notice
# over the 10 reference times of a task's final deadline).
MAX_TIME_REF = 7 * 24 * 3600 // 10
# `uint8 order` / `asset` / `field` codes of the Hub's errors (HubTypes.sol, library Kind).
APP, DATASET, WORKERPOOL, REQUEST = (kind.code for kind in OrderKind)
ORDER_NAMES = {kind.code: kind.value for kind in OrderKind}
# The same codes as the restricted field of RestrictionFailed: REQUEST is the requester.
FIELD_NAMES = {**ORDER_NAMES, REQUEST: "requester"}
# Tag bits with a name (PROTOCOL.md); the others are shown as "bit N".
TAG_BIT_NAMES = {0: "TEE", 3: "TDX"}
TASK_STATUSES = {status.code: status.name for status in TaskStatus}
CONTRIBUTION_STATUSES = {
    status.code: status.name for status in ContributionStatus if status.code is not None
}

MessageBuilder = Callable[..., str]


@functools.cache
def hub_abis() -> tuple[list[dict[str, Any]], ...]:
    """The ABIs to decode SuperEdge reverts with (`decode_revert`, `TransactionSender(abis=)`):
    Hub first, then ECT, the registries and the assets."""
    return tuple(artifacts.abi(name) for name in HUB_ABI_CONTRACTS)


# ---------------------------------------------------------------------------- formatting


def short_hash(value: bytes) -> str:
    """ "0x12345678…abcd": a bytes32 (digest, deal or task id) shortened for messages."""
    hexed = value.hex()
    return f"0x{hexed[:8]}…{hexed[-4:]}"


def format_time(timestamp: int) -> str:
    """A unix time in seconds as "2025-01-31 12:00:00 UTC"."""
    try:
        moment = datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        return f"unix time {timestamp}"
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def tag_bit_names(tag: bytes) -> list[str]:
    """Names of the bits set in a bytes32 tag, lowest first: "TEE", "TDX", "bit 5"."""
    value = int.from_bytes(tag, "big")
    return [TAG_BIT_NAMES.get(bit, f"bit {bit}") for bit in range(256) if value >> bit & 1]


def _order(code: int) -> str:
    return ORDER_NAMES.get(code, f"order #{code}")


def _field(code: int) -> str:
    return FIELD_NAMES.get(code, f"field #{code}")


def _asset_address(token_id: int) -> str:
    """A registry token id is the asset's address (uint160)."""
    if 0 <= token_id < 2**160:
        return short_address("0x" + token_id.to_bytes(20, "big").hex())
    return str(token_id)


def _is_zero(address: str) -> bool:
    return int(address, 16) == 0


def _message(error_name: str, *argument_names: str) -> Callable[[MessageBuilder], MessageBuilder]:
    """Register the decorated function as the message of `error_name`, whose ABI arguments are
    `argument_names` (passed positionally, in that order). Arguments of another shape (an error
    of the same name declared by some other contract) get the generic message instead."""

    def decorator(build: MessageBuilder) -> MessageBuilder:
        @register_message(error_name)
        def message(arguments: dict[str, Any]) -> str:
            if tuple(arguments) != argument_names:
                return describe_error(error_name, arguments)
            return build(*arguments.values())

        return build

    return decorator


# ---------------------------------------------------------------------------- Hub: general


@_message("NotOwner", "caller", "owner")
def _not_owner(caller: str, owner: str) -> str:
    return (
        f"Only the Hub owner {short_address(owner)} may do this; you are {short_address(caller)}."
    )


@_message("NotPendingOwner", "caller", "pendingOwner")
def _not_pending_owner(caller: str, pending_owner: str) -> str:
    if _is_zero(pending_owner):
        return (
            "No ownership transfer of the Hub is pending: the Hub owner must propose you with "
            "transferOwnership first."
        )
    return (
        f"Only {short_address(pending_owner)}, the proposed Hub owner, may accept the ownership; "
        f"you are {short_address(caller)}."
    )


@_message("ZeroAddress")
def _zero_address() -> str:
    return "The zero address is not a valid account here: give a real address."


@_message("NotAContract", "addr")
def _not_a_contract(addr: str) -> str:
    return (
        f"There is no contract at {short_address(addr)}: deploy that contract first, then give "
        "its address."
    )


@_message("ArrayLengthMismatch", "dealids", "idxs")
def _array_length_mismatch(dealids: int, idxs: int) -> str:
    return (
        f"The batch has {dealids} deal id(s) but {idxs} task index(es): give one deal id per "
        "task index."
    )


@_message("UnknownFunction", "selector")
def _unknown_function(selector: bytes) -> str:
    return (
        f"The Hub has no function with selector 0x{selector.hex()}: this client's Hub ABI does "
        "not match the deployed Hub (update the client or its contract address)."
    )


@_message("ValueOverflow", "value", "max")
def _value_overflow(value: int, maximum: int) -> str:
    return f"The value {value:,} is too large for the Hub, which accepts at most {maximum:,}."


@_message("InsufficientStake", "account", "stake", "needed")
def _insufficient_stake(account: str, stake: int, needed: int) -> str:
    return (
        f"The escrow of {short_address(account)} holds {format_ect(stake)} free; "
        f"{format_ect(needed)} are needed — deposit {format_ect(needed - stake)} first."
    )


@_message("InvalidTimeRef", "workClockTimeRef")
def _invalid_time_ref(work_clock_time_ref: int) -> str:
    return (
        f"A category's reference time must be from 1 to {MAX_TIME_REF:,} seconds (ten of them, "
        f"a task's final deadline, fit in a worker bond's notice), not {work_clock_time_ref:,}."
    )


@_message("UnknownCategory", "category", "count")
def _unknown_category(category: int, count: int) -> str:
    existing = f"categories 0 to {count - 1}" if count else "no category yet"
    return f"Category {category} does not exist (the Hub has {existing}): pick an existing one."


# ---------------------------------------------------------------------------- Hub: matching


@_message("CategoryMismatch", "requestCategory", "workerpoolCategory")
def _category_mismatch(request_category: int, workerpool_category: int) -> str:
    return (
        f"Your request is for category {request_category} but the workerpool order is for "
        f"category {workerpool_category}: pick a workerpool order of category {request_category}."
    )


@_message("TrustTooHigh", "requestTrust", "workerpoolTrust")
def _trust_too_high(request_trust: int, workerpool_trust: int) -> str:
    return (
        f"Your request asks for trust {request_trust} but the workerpool order offers at most "
        f"{workerpool_trust}: lower the trust or pick a more trusted workerpool order."
    )


@_message("PriceTooHigh", "asset", "price", "maxPrice")
def _price_too_high(asset: int, price: int, max_price: int) -> str:
    name = _order(asset)
    return (
        f"The {name} costs {format_ect(price)} but your request allows at most "
        f"{format_ect(max_price)}: raise your {name} max price or pick a cheaper {name} order."
    )


@_message("TagNotOffered", "missingBits")
def _tag_not_offered(missing_bits: bytes) -> str:
    bits = tag_bit_names(missing_bits)
    message = (
        f"The request needs tag bits {', '.join(bits)} that the pool does not offer (the app, "
        "dataset and request tags add up): pick a workerpool order whose tag offers them"
    )
    if {"TEE", "TDX"} & set(bits):
        return message + "; no SuperEdge pool offers TEE or TDX, so drop those bits instead."
    return message + "."


@_message("AssetMismatch", "asset", "requested", "offered")
def _asset_mismatch(asset: int, requested: str, offered: str) -> str:
    name = _order(asset)
    if _is_zero(requested):
        return (
            f"Your request has no {name} but a {name} order for {short_address(offered)} was "
            f"given: leave the {name} order out."
        )
    if _is_zero(offered):
        return (
            f"Your request needs {name} {short_address(requested)} but no {name} order was "
            f"given: add an order for that {name}."
        )
    return (
        f"Your request is for {name} {short_address(requested)} but the {name} order is for "
        f"{short_address(offered)}: use an order for the {name} you request."
    )


@_message("DatasetOrderNotEmpty")
def _dataset_order_not_empty() -> str:
    return (
        "Your request has no dataset, so the dataset order must be all zeros (no price, "
        "volume, tag, restriction, salt or signature): send the empty dataset order."
    )


@_message("RestrictionFailed", "order", "field", "allowed", "actual")
def _restriction_failed(order: int, field: int, allowed: str, actual: str) -> str:
    owner = "your request" if order == REQUEST else f"the {_order(order)} order"
    field_name = _field(field)
    restriction = f"{owner.capitalize()} allows only {field_name} {short_address(allowed)}"
    if field == REQUEST:
        return f"{restriction}; you are {short_address(actual)}."
    if _is_zero(actual):
        return f"{restriction}; this deal has no {field_name}."
    return f"{restriction}; this deal's {field_name} is {short_address(actual)}."


@_message("AssetNotRegistered", "asset", "addr")
def _asset_not_registered(asset: int, addr: str) -> str:
    name = _order(asset)
    return (
        f"No {name} is registered at {short_address(addr)}: fix the address, or register the "
        f"{name} first."
    )


@_message("InvalidSignature", "order", "digest", "signer")
def _invalid_signature(order: int, digest: bytes, signer: str) -> str:
    name = _order(order)
    who = "its requester" if order == REQUEST else f"the {name} owner"
    if _is_zero(signer):
        return f"The {name} order {short_hash(digest)} names no signer (the zero address)."
    return (
        f"The {name} order {short_hash(digest)} is neither signed nor presigned by {who} "
        f"{short_address(signer)}: sign it with that account."
    )


@_message("OrderExhausted", "order", "digest")
def _order_exhausted(order: int, digest: bytes) -> str:
    return (
        f"The {_order(order)} order {short_hash(digest)} has no volume left (used up or "
        "closed): use another order."
    )


@_message("UnauthorizedOperation", "order", "owner", "caller")
def _unauthorized_operation(order: int, owner: str, caller: str) -> str:
    name = _order(order)
    who = "its requester" if order == REQUEST else f"the {name} owner"
    return (
        f"Only {who} {short_address(owner)} may presign or close this {name} order, or someone "
        f"carrying their signature of the operation; you are {short_address(caller)}."
    )


# ---------------------------------------------------------------------------- Hub: tasks

_TASK_STATUS_HINTS = {
    0: "initialize it first",
    1: "it still waits for contributions",
    2: "it waits for reveals",
    3: "it is completed already",
    4: "it failed and was refunded already",
}
_CONTRIBUTION_STATUS_HINTS = {
    0: "that worker has not contributed",
    1: "it is not revealed yet",
    2: "it was revealed already",
    3: "it was rejected",
}


@_message("UnknownDeal", "dealid")
def _unknown_deal(dealid: bytes) -> str:
    return f"No deal {short_hash(dealid)} exists on this Hub: check the deal id."


@_message("TaskIndexOutOfRange", "dealid", "idx", "botFirst", "volume")
def _task_index_out_of_range(dealid: bytes, idx: int, bot_first: int, volume: int) -> str:
    return (
        f"Task {idx} is not part of deal {short_hash(dealid)}, whose tasks are {bot_first} to "
        f"{bot_first + volume - 1}."
    )


@_message("WrongTaskStatus", "taskid", "status")
def _wrong_task_status(taskid: bytes, status: int) -> str:
    name = TASK_STATUSES.get(status, f"in status {status}")
    hint = _TASK_STATUS_HINTS.get(status, "this call does not apply to it")
    return f"Task {short_hash(taskid)} is {name}, which does not allow this: {hint}."


@_message("DeadlineReached", "taskid", "deadline")
def _deadline_reached(taskid: bytes, deadline: int) -> str:
    return (
        f"Too late: the deadline for this on task {short_hash(taskid)} passed at "
        f"{format_time(deadline)}."
    )


@_message("DeadlineNotReached", "taskid", "deadline")
def _deadline_not_reached(taskid: bytes, deadline: int) -> str:
    return (
        f"Too early: this is possible on task {short_hash(taskid)} from {format_time(deadline)} "
        "on; wait until then."
    )


@_message("NotScheduler", "taskid", "caller", "scheduler")
def _not_scheduler(taskid: bytes, caller: str, scheduler: str) -> str:
    return (
        f"Only the scheduler of task {short_hash(taskid)}, {short_address(scheduler)}, may do "
        f"this; you are {short_address(caller)}."
    )


@_message("AlreadyContributed", "taskid", "worker")
def _already_contributed(taskid: bytes, worker: str) -> str:
    return (
        f"Worker {short_address(worker)} already contributed to task {short_hash(taskid)}: "
        "a worker contributes once per task."
    )


@_message("TooManyContributors", "taskid", "max")
def _too_many_contributors(taskid: bytes, maximum: int) -> str:
    return (
        f"Task {short_hash(taskid)} has its {maximum} contributions already, the most a task "
        "takes: wait for its consensus, or work on another task."
    )


@_message("EmptyCommitment", "taskid")
def _empty_commitment(taskid: bytes) -> str:
    return (
        f"A contribution to task {short_hash(taskid)} needs a non-zero result hash and result "
        "seal: compute both from the result digest."
    )


@_message("UnauthorizedWorker", "taskid", "worker", "scheduler")
def _unauthorized_worker(taskid: bytes, worker: str, scheduler: str) -> str:
    return (
        f"Worker {short_address(worker)} has no authorization of scheduler "
        f"{short_address(scheduler)} for task {short_hash(taskid)}: ask the scheduler for work."
    )


@_message("WrongContributionStatus", "taskid", "worker", "status")
def _wrong_contribution_status(taskid: bytes, worker: str, status: int) -> str:
    name = CONTRIBUTION_STATUSES.get(status, f"in status {status}")
    hint = _CONTRIBUTION_STATUS_HINTS.get(status, "this call does not apply to it")
    return (
        f"The contribution of {short_address(worker)} to task {short_hash(taskid)} is {name}, "
        f"which does not allow this: {hint}."
    )


@_message("NotInConsensus", "taskid", "worker", "resultHash", "consensus")
def _not_in_consensus(taskid: bytes, worker: str, result_hash: bytes, consensus: bytes) -> str:
    return (
        f"Worker {short_address(worker)} committed to another result than the consensus of "
        f"task {short_hash(taskid)}: only the workers of the consensus reveal."
    )


@_message("RevealMismatch", "taskid", "expected", "actual")
def _reveal_mismatch(taskid: bytes, expected: bytes, actual: bytes) -> str:
    return (
        f"The revealed digest does not give the consensus of task {short_hash(taskid)}: "
        "reveal the result digest you committed to."
    )


@_message("SealMismatch", "taskid", "worker")
def _seal_mismatch(taskid: bytes, worker: str) -> str:
    return (
        f"The revealed digest does not match the seal {short_address(worker)} committed for "
        f"task {short_hash(taskid)}: reveal the digest you sealed."
    )


@_message("RevealsPending", "taskid", "revealCounter", "winnerCounter", "revealDeadline")
def _reveals_pending(
    taskid: bytes, reveal_counter: int, winner_counter: int, reveal_deadline: int
) -> str:
    return (
        f"Task {short_hash(taskid)} cannot be finalized yet: {reveal_counter} of its "
        f"{winner_counter} winners revealed; wait for the others, or until "
        f"{format_time(reveal_deadline)} with at least one reveal."
    )


@_message("ReopenNotAllowed", "taskid", "revealCounter", "revealDeadline")
def _reopen_not_allowed(taskid: bytes, reveal_counter: int, reveal_deadline: int) -> str:
    if reveal_counter:
        return (
            f"Task {short_hash(taskid)} cannot be reopened: {reveal_counter} worker(s) revealed "
            "already; finalize it instead."
        )
    return (
        f"Task {short_hash(taskid)} can be reopened only after its reveal deadline, "
        f"{format_time(reveal_deadline)}."
    )


@_message("GiveUpAfterConsensus", "taskid", "status")
def _give_up_after_consensus(taskid: bytes, status: int) -> str:
    if status == 3:
        return f"Task {short_hash(taskid)} is completed already: there is nothing to give up."
    return (
        f"Task {short_hash(taskid)} reached a consensus, so it can no longer be given up: "
        "finalize it once its winners revealed (or reopen it if none reveals in time)."
    )


@_message("GiveUpPastFinalDeadline", "taskid", "finalDeadline")
def _give_up_past_final_deadline(taskid: bytes, final_deadline: int) -> str:
    return (
        f"Task {short_hash(taskid)} passed its final deadline at {format_time(final_deadline)}: "
        "claim it instead (anyone may), which refunds the payer the same way."
    )


@_message("NotWorkerpoolOwner", "workerpool", "caller", "owner")
def _not_workerpool_owner(workerpool: str, caller: str, owner: str) -> str:
    return (
        f"Only the owner {short_address(owner)} of pool {short_address(workerpool)} may do this; "
        f"you are {short_address(caller)}."
    )


@_message("ZeroBond")
def _zero_bond() -> str:
    return "A bond of 0 ECT changes nothing: give an amount above zero."


@_message("BondTooSmall", "workerpool", "worker", "bond", "needed")
def _bond_too_small(workerpool: str, worker: str, bond: int, needed: int) -> str:
    if bond == 0:
        return f"Worker {short_address(worker)} keeps no bond for pool {short_address(workerpool)}."
    return (
        f"Worker {short_address(worker)} keeps {format_ect(bond)} as its bond for pool "
        f"{short_address(workerpool)}, less than the {format_ect(needed)} asked."
    )


@_message("BondNoticeRunning", "workerpool", "worker", "unbondAt")
def _bond_notice_running(workerpool: str, worker: str, unbond_at: int) -> str:
    if unbond_at == 0:
        return (
            f"Give notice first (requestUnbond): {short_address(worker)} may take its bond for "
            f"pool {short_address(workerpool)} back once the notice has run."
        )
    return (
        f"The bond of {short_address(worker)} for pool {short_address(workerpool)} can be taken "
        f"back from {format_time(unbond_at)} on."
    )


@_message("SafeERC20FailedOperation", "token")
def _safe_erc20_failed_operation(token: str) -> str:
    return f"The transfer of token {short_address(token)} failed: nothing was moved."


# ---------------------------------------------------------------------------- registries


@_message("AlreadyRegistered", "asset")
def _already_registered(asset: str) -> str:
    return (
        f"These details are registered for this owner already, at {short_address(asset)}: "
        "use that asset, or change the details."
    )


@_message("FailedDeployment")
def _failed_deployment() -> str:
    return "The registry could not create the asset contract: nothing was registered."


@_message("InsufficientBalance", "balance", "needed")
def _insufficient_balance(balance: int, needed: int) -> str:
    return (
        f"The registry holds {balance:,} wei but {needed:,} are needed to create the asset: "
        "send no value with the registration."
    )


@_message("ERC721IncorrectOwner", "sender", "tokenId", "owner")
def _erc721_incorrect_owner(sender: str, token_id: int, owner: str) -> str:
    return (
        f"Asset {_asset_address(token_id)} belongs to {short_address(owner)}, not to "
        f"{short_address(sender)}: only its owner transfers it."
    )


@_message("ERC721InsufficientApproval", "operator", "tokenId")
def _erc721_insufficient_approval(operator: str, token_id: int) -> str:
    return (
        f"Account {short_address(operator)} may not transfer asset {_asset_address(token_id)}: "
        "its owner must approve that account first."
    )


@_message("ERC721InvalidApprover", "approver")
def _erc721_invalid_approver(approver: str) -> str:
    return (
        f"Account {short_address(approver)} cannot approve transfers of this asset: it is not "
        "its owner."
    )


@_message("ERC721InvalidOperator", "operator")
def _erc721_invalid_operator(operator: str) -> str:
    return f"Account {short_address(operator)} cannot be made an operator of assets."


@_message("ERC721InvalidOwner", "owner")
def _erc721_invalid_owner(owner: str) -> str:
    return f"Account {short_address(owner)} cannot own assets: give a real account."


@_message("ERC721InvalidReceiver", "receiver")
def _erc721_invalid_receiver(receiver: str) -> str:
    return (
        f"Account {short_address(receiver)} cannot receive assets (the zero address, or a "
        "contract that does not accept ERC-721 tokens): send it to another account."
    )


@_message("ERC721InvalidSender", "sender")
def _erc721_invalid_sender(sender: str) -> str:
    # OpenZeppelin raises it (with the zero address) when minting a token that exists.
    return "This asset exists already: it cannot be registered again."


@_message("ERC721NonexistentToken", "tokenId")
def _erc721_nonexistent_token(token_id: int) -> str:
    return f"No asset {_asset_address(token_id)} is registered in this registry."


# ---------------------------------------------------------------------------- assets


@_message("AlreadyInitialized")
def _already_initialized() -> str:
    return "This asset was initialized already: its registry sets it up once, when it is created."


@_message("NotAssetOwner", "caller", "owner")
def _not_asset_owner(caller: str, owner: str) -> str:
    return (
        f"Only the asset owner {short_address(owner)} may do this; you are {short_address(caller)}."
    )


@_message("InvalidPolicy", "workerStakeRatio", "schedulerRewardRatio")
def _invalid_policy(worker_stake_ratio: int, scheduler_reward_ratio: int) -> str:
    if scheduler_reward_ratio > 100:
        return (
            f"The scheduler reward ratio is a percent: at most 100, not {scheduler_reward_ratio}."
        )
    return f"The worker stake ratio {worker_stake_ratio:,} % is too large: keep it below 2^128."


# ---------------------------------------------------------------------------- ECT


@_message("ERC20InsufficientAllowance", "spender", "allowance", "needed")
def _erc20_insufficient_allowance(spender: str, allowance: int, needed: int) -> str:
    return (
        f"Spender {short_address(spender)} may take only {format_ect(allowance)} of yours but "
        f"{format_ect(needed)} are needed: approve {format_ect(needed)} first, or deposit with "
        "a permit."
    )


@_message("ERC20InsufficientBalance", "sender", "balance", "needed")
def _erc20_insufficient_balance(sender: str, balance: int, needed: int) -> str:
    return (
        f"Account {short_address(sender)} holds {format_ect(balance)}; {format_ect(needed)} are "
        f"needed — get {format_ect(needed - balance)} more first."
    )


@_message("ERC20InvalidApprover", "approver")
def _erc20_invalid_approver(approver: str) -> str:
    return f"Account {short_address(approver)} cannot approve ECT spending."


@_message("ERC20InvalidReceiver", "receiver")
def _erc20_invalid_receiver(receiver: str) -> str:
    return f"ECT cannot be sent to {short_address(receiver)}: give a real account."


@_message("ERC20InvalidSender", "sender")
def _erc20_invalid_sender(sender: str) -> str:
    return f"ECT cannot be sent from {short_address(sender)}."


@_message("ERC20InvalidSpender", "spender")
def _erc20_invalid_spender(spender: str) -> str:
    return f"Account {short_address(spender)} cannot be allowed to spend ECT: give a real account."


@_message("ERC2612ExpiredSignature", "deadline")
def _erc2612_expired_signature(deadline: int) -> str:
    return f"The permit expired at {format_time(deadline)}: sign a new one."


@_message("ERC2612InvalidSigner", "signer", "owner")
def _erc2612_invalid_signer(signer: str, owner: str) -> str:
    return (
        f"The permit is signed by {short_address(signer)}, not by the token owner "
        f"{short_address(owner)}: sign it with the account that deposits."
    )


@_message("InvalidAccountNonce", "account", "currentNonce")
def _invalid_account_nonce(account: str, current_nonce: int) -> str:
    return (
        f"The permit of {short_address(account)} was used already (its nonce is now "
        f"{current_nonce}): sign a new one."
    )


@_message("ECDSAInvalidSignature")
def _ecdsa_invalid_signature() -> str:
    return "The permit signature is invalid: sign it again."


@_message("ECDSAInvalidSignatureLength", "length")
def _ecdsa_invalid_signature_length(length: int) -> str:
    return f"The permit signature has {length} bytes, not 65: sign it again."


@_message("ECDSAInvalidSignatureS", "s")
def _ecdsa_invalid_signature_s(s: bytes) -> str:
    return "The permit signature is malleable (s in the upper half): sign it again."


@_message("InvalidShortString")
def _invalid_short_string() -> str:
    return "The token's name or version is not a valid short string."


@_message("StringTooLong", "str")
def _string_too_long(text: str) -> str:
    return f"The token's name or version is too long ({len(text)} characters, at most 31)."
