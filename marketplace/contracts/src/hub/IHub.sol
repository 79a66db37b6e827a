// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {
    Account,
    AppOrder,
    AppOrderOperation,
    Category,
    ContributionView,
    DatasetOrder,
    DatasetOrderOperation,
    Deal,
    DealInfo,
    EIP712Domain,
    RequestOrder,
    RequestOrderOperation,
    TaskView,
    WorkerpoolOrder,
    WorkerpoolOrderOperation
} from "./HubTypes.sol";

/// @title Events emitted at the Hub address.
/// @notice Escrow events carry a `ref`: the dealid for locks at match time, the taskid otherwise
/// (zero for deposits and withdrawals, which have their own events).
interface IHubEvents {
    /// @notice The Hub owner (who creates categories) changed: `newOwner` accepted the transfer
    /// (or deployed the Hub, with `previousOwner` zero).
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    /// @notice The Hub owner proposed `newOwner` (zero: withdrew its proposal); nothing changes
    /// until `newOwner` calls acceptOwnership.
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);

    /// @notice `from` moved `amount` ECT into the Hub, credited to the stake of `account`.
    event Deposit(address indexed from, address indexed account, uint256 amount);
    /// @notice `account` took `amount` ECT out of its stake.
    event Withdraw(address indexed account, uint256 amount);
    /// @notice `amount` moved from the stake of `account` to its locked balance.
    event Lock(address indexed account, uint256 amount, bytes32 ref);
    /// @notice `amount` moved from the locked balance of `account` back to its stake.
    event Unlock(address indexed account, uint256 amount, bytes32 ref);
    /// @notice `amount` credited to the stake of `account` (a payment).
    event Reward(address indexed account, uint256 amount, bytes32 ref);
    /// @notice `amount` taken from the locked balance of `account` (paid out or forfeited).
    event Seize(address indexed account, uint256 amount, bytes32 ref);
    /// @notice A seized pool stake (`ref` the taskid) or worker bond (`ref` the pool's address)
    /// went to the kitty, which now holds `kitty`.
    event KittyCredit(uint256 amount, uint256 kitty, bytes32 ref);

    /// @notice A category was created by the Hub owner.
    event CreateCategory(uint256 catid, string name, string description, uint256 workClockTimeRef);

    /// @notice Presigned on chain (`manageAppOrder` with SIGN); the hash is the order's EIP-712 digest.
    event SignedAppOrder(bytes32 appHash);
    /// @notice Presigned dataset order.
    event SignedDatasetOrder(bytes32 datasetHash);
    /// @notice Presigned workerpool order.
    event SignedWorkerpoolOrder(bytes32 workerpoolHash);
    /// @notice Presigned request order.
    event SignedRequestOrder(bytes32 requestHash);
    /// @notice Beside Signed{X}Order: `signer` (the asset owner, or the requester) presigned the
    /// order of kind `order` (0 app, 1 dataset, 2 workerpool, 3 request) with digest `digest`.
    event OrderPresigned(bytes32 indexed digest, address indexed signer, uint8 order);
    /// @notice Closed (consumed = volume) app order.
    event ClosedAppOrder(bytes32 appHash);
    /// @notice Closed dataset order.
    event ClosedDatasetOrder(bytes32 datasetHash);
    /// @notice Closed workerpool order.
    event ClosedWorkerpoolOrder(bytes32 workerpoolHash);
    /// @notice Closed request order.
    event ClosedRequestOrder(bytes32 requestHash);

    /// @notice A deal for `workerpool` exists: its scheduler should initialize the tasks.
    event SchedulerNotice(address indexed workerpool, bytes32 dealid);
    /// @notice PoCo's match event: the four order digests and the volume consumed on each
    /// (datasetHash is zero when the deal has no dataset).
    event OrdersMatched(
        bytes32 dealid,
        bytes32 appHash,
        bytes32 datasetHash,
        bytes32 workerpoolHash,
        bytes32 requestHash,
        uint256 volume
    );
    /// @notice Everything about a new deal, so that an indexer never calls back.
    event DealCreated(
        bytes32 indexed dealid,
        address indexed requester,
        address indexed workerpool,
        DealInfo deal
    );

    /// @notice Task `taskid` = keccak256(abi.encodePacked(dealid, uint256 idx)) is ACTIVE.
    event TaskInitialize(bytes32 indexed taskid, address indexed workerpool);
    /// @notice Beside TaskInitialize: task `taskid` is task `idx` of deal `dealid` (its
    /// deadlines follow from DealCreated's startTime and workClockTimeRef).
    event TaskCreated(bytes32 indexed taskid, bytes32 indexed dealid, uint256 idx);
    /// @notice `worker` committed to `hash` (= keccak256(abi.encodePacked(taskid, digest))).
    event TaskContribute(bytes32 indexed taskid, address indexed worker, bytes32 hash);
    /// @notice Consensus reached on `consensus`; the reveal deadline is now + 2 × timeRef.
    event TaskConsensus(bytes32 indexed taskid, bytes32 consensus);
    /// @notice `worker` revealed the result digest.
    event TaskReveal(bytes32 indexed taskid, address indexed worker, bytes32 digest);
    /// @notice The consensus group did not reveal in time: rejected, task ACTIVE again.
    event TaskReopen(bytes32 indexed taskid);
    /// @notice Task COMPLETED; `results` locates the result (not stored on chain).
    event TaskFinalize(bytes32 indexed taskid, bytes results);
    /// @notice Task FAILED: payer refunded, pool stake to the kitty; by `claim` after its final
    /// deadline, or by the scheduler's `giveUp` before it (then TaskGivenUp follows).
    event TaskClaimed(bytes32 indexed taskid);
    /// @notice Beside TaskClaimed: the scheduler gave the task up before its final deadline.
    event TaskGivenUp(bytes32 indexed taskid);
    /// @notice A winner of a replicated task: score + 1.
    event AccurateContribution(address indexed worker, bytes32 indexed taskid);
    /// @notice A loser (or a winner that did not reveal): stake seized, score × 2/3.
    event FaultyContribution(address indexed worker, bytes32 indexed taskid);
    /// @notice `finalize` of `taskid` changed the score of `worker` to `score` (a winner's + 1,
    /// a loser's × 2/3); not emitted when the score stays as it was.
    event WorkerScore(address indexed worker, bytes32 indexed taskid, uint256 score);
    /// @notice The bond `worker` keeps locked for `workerpool` is now `amount`; `unbondAt` is when
    /// the worker may take it back (zero: no notice given). Emitted on every change of either.
    event WorkerBond(address indexed workerpool, address indexed worker, uint256 amount, uint256 unbondAt);
}

/// @title Errors raised at the Hub address.
/// @notice `uint8 order`/`asset`/`field` codes: 0 app, 1 dataset, 2 workerpool, 3 request (as a
/// restricted field: the requester). Statuses are the uint8 values of TaskStatus (0 UNSET,
/// 1 ACTIVE, 2 REVEALING, 3 COMPLETED, 4 FAILED) and ContributionStatus (0 UNSET, 1 CONTRIBUTED,
/// 2 PROVED, 3 REJECTED).
interface IHubErrors {
    /// @notice Only the Hub owner may do this.
    error NotOwner(address caller, address owner);
    /// @notice Only the proposed owner `pendingOwner` (zero: none) may accept the ownership.
    error NotPendingOwner(address caller, address pendingOwner);
    /// @notice The zero address is not a valid account here.
    error ZeroAddress();
    /// @notice Deployment: `addr` holds no code, but a contract (module, token, registry) is needed.
    error NotAContract(address addr);
    /// @notice A batch call's arrays must have the same length.
    error ArrayLengthMismatch(uint256 dealids, uint256 idxs);
    /// @notice No function with this selector exists at the Hub.
    error UnknownFunction(bytes4 selector);
    /// @notice A value does not fit the Hub's packed storage.
    error ValueOverflow(uint256 value, uint256 max);
    /// @notice `account` has `stake` free ECT in the Hub but `needed` are required.
    error InsufficientStake(address account, uint256 stake, uint256 needed);

    /// @notice workClockTimeRef must be in [1, 60480] seconds (10 of them fit in a bond's notice).
    error InvalidTimeRef(uint256 workClockTimeRef);
    /// @notice No category `category` exists (there are `count`).
    error UnknownCategory(uint256 category, uint256 count);

    /// @notice Check 1: the request's category differs from the workerpool order's.
    error CategoryMismatch(uint256 requestCategory, uint256 workerpoolCategory);
    /// @notice Check 2: the request asks for more trust than the pool offers.
    error TrustTooHigh(uint256 requestTrust, uint256 workerpoolTrust);
    /// @notice Check 3: `asset`'s price is above the request's max price for it.
    error PriceTooHigh(uint8 asset, uint256 price, uint256 maxPrice);
    /// @notice Check 4: tag bits required by the app, dataset or request orders the pool lacks.
    error TagNotOffered(bytes32 missingBits);
    /// @notice Check 5: the request names `requested` but the `asset` order offers `offered`.
    error AssetMismatch(uint8 asset, address requested, address offered);
    /// @notice Check 5: the request has no dataset, so the dataset order must be all zeros (no
    /// price, volume, tag, restriction, salt or signature).
    error DatasetOrderNotEmpty();
    /// @notice Check 6: order `order` restricts `field` to `allowed` but the counterpart is `actual`.
    error RestrictionFailed(uint8 order, uint8 field, address allowed, address actual);
    /// @notice Check 7: `addr` is not registered in the `asset` registry.
    error AssetNotRegistered(uint8 asset, address addr);
    /// @notice Check 7: order `order` (EIP-712 digest `digest`) is neither presigned nor signed by `signer`.
    error InvalidSignature(uint8 order, bytes32 digest, address signer);
    /// @notice Check 8: order `order` has no remaining volume (consumed or closed).
    error OrderExhausted(uint8 order, bytes32 digest);
    /// @notice `manage*Order`: the caller is not `owner` and `sign` is not owner's operation signature.
    error UnauthorizedOperation(uint8 order, address owner, address caller);

    /// @notice No deal `dealid` exists.
    error UnknownDeal(bytes32 dealid);
    /// @notice `idx` is outside the deal's task range [botFirst, botFirst + volume).
    error TaskIndexOutOfRange(bytes32 dealid, uint256 idx, uint256 botFirst, uint256 volume);
    /// @notice The task is in status `status`, which does not allow this call.
    error WrongTaskStatus(bytes32 taskid, uint8 status);
    /// @notice The deadline (unix seconds) for this call has passed.
    error DeadlineReached(bytes32 taskid, uint256 deadline);
    /// @notice This call is only allowed at or after `deadline` (unix seconds).
    error DeadlineNotReached(bytes32 taskid, uint256 deadline);
    /// @notice Only the deal's scheduler (the workerpool owner at match time) may do this.
    error NotScheduler(bytes32 taskid, address caller, address scheduler);
    /// @notice `worker` already contributed to this task.
    error AlreadyContributed(bytes32 taskid, address worker);
    /// @notice The task has its `max` contributions already.
    error TooManyContributors(bytes32 taskid, uint256 max);
    /// @notice resultHash and resultSeal must both be non-zero.
    error EmptyCommitment(bytes32 taskid);
    /// @notice `authorization` is not `scheduler`'s signature for (`worker`, `taskid`).
    error UnauthorizedWorker(bytes32 taskid, address worker, address scheduler);
    /// @notice The contribution of `worker` is in status `status`, which does not allow this call.
    error WrongContributionStatus(bytes32 taskid, address worker, uint8 status);
    /// @notice `worker` committed to `resultHash`, not to the consensus `consensus`.
    error NotInConsensus(bytes32 taskid, address worker, bytes32 resultHash, bytes32 consensus);
    /// @notice keccak256(taskid, digest) = `actual` differs from the consensus `expected`.
    error RevealMismatch(bytes32 taskid, bytes32 expected, bytes32 actual);
    /// @notice keccak256(worker, taskid, digest) differs from the seal `worker` committed.
    error SealMismatch(bytes32 taskid, address worker);
    /// @notice Finalize needs every winner revealed, or the reveal deadline passed with one reveal.
    error RevealsPending(bytes32 taskid, uint256 revealCounter, uint256 winnerCounter, uint256 revealDeadline);
    /// @notice Reopen needs the reveal deadline passed with no reveal.
    error ReopenNotAllowed(bytes32 taskid, uint256 revealCounter, uint256 revealDeadline);
    /// @notice giveUp: the task has a consensus (status 2 REVEALING or 3 COMPLETED); it is
    /// finalized, or reopened when nobody reveals in time, instead.
    error GiveUpAfterConsensus(bytes32 taskid, uint8 status);
    /// @notice giveUp: the task's final deadline passed at `finalDeadline`; `claim` refunds it.
    error GiveUpPastFinalDeadline(bytes32 taskid, uint256 finalDeadline);

    /// @notice Only the owner `owner` of `workerpool` may do this.
    error NotWorkerpoolOwner(address workerpool, address caller, address owner);
    /// @notice A bond of zero ECT changes nothing.
    error ZeroBond();
    /// @notice `worker` keeps `bond` for `workerpool`, less than `needed`.
    error BondTooSmall(address workerpool, address worker, uint256 bond, uint256 needed);
    /// @notice `worker` may take its bond for `workerpool` back from `unbondAt` on (zero: after
    /// requestUnbond and its notice).
    error BondNoticeRunning(address workerpool, address worker, uint256 unbondAt);
}

/// @title The SuperEdge Hub: every function, event and error callable or emitted at the Hub address.
/// @notice The Hub's code holds the task functions and delegates the rest to its modules
/// (HubOrders, then HubAccounts); build.json's "Hub" ABI is the union of the three, and the
/// compile script checks it against this interface.
interface IHub is IHubEvents, IHubErrors {
    // ---------------------------------------------------------------- tasks (Hub)

    /// @notice Start task `idx` of deal `dealid`. Anyone may call.
    function initialize(bytes32 dealid, uint256 idx) external returns (bytes32 taskid);

    /// @notice `initialize(dealids[i], idxs[i])` for every i, all or none (PoCo shape).
    function initializeArray(bytes32[] calldata dealids, uint256[] calldata idxs) external returns (bool);

    /// @notice Commit a result. `authorization` is the scheduler's signature over
    /// toEthSignedMessageHash(keccak256(abi.encodePacked(worker, taskid))).
    function contribute(bytes32 taskid, bytes32 resultHash, bytes32 resultSeal, bytes calldata authorization)
        external;

    /// @notice Reveal the committed result digest after consensus.
    function reveal(bytes32 taskid, bytes32 resultDigest) external;

    /// @notice Scheduler: drop a consensus group that did not reveal in time.
    function reopen(bytes32 taskid) external;

    /// @notice Scheduler: complete the task and pay everyone.
    function finalize(bytes32 taskid, bytes calldata results) external;

    /// @notice Anyone, at or after the final deadline of an unfinished task: refund the payer.
    function claim(bytes32 taskid) external;

    /// @notice `claim` every task of `taskids`, all or none (PoCo shape).
    function claimArray(bytes32[] calldata taskids) external returns (bool);

    /// @notice Scheduler: give up an ACTIVE task before its final deadline, as `claim` would.
    function giveUp(bytes32 taskid) external;

    // ---------------------------------------------------------------- orders (HubOrders)

    /// @notice EIP-712 domain of the orders (PoCo shape).
    function domain() external view returns (EIP712Domain memory);

    /// @notice EIP-5267 domain description.
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        );

    /// @notice Whether `sign` is `signer`'s signature of `digest` (65/64-byte ECDSA or ERC-1271).
    function verifySignature(address signer, bytes32 digest, bytes calldata sign) external view returns (bool);

    /// @notice Volume consumed of the order with EIP-712 digest `digest`.
    function viewConsumed(bytes32 digest) external view returns (uint256);

    /// @notice Who presigned the order with digest `digest` (zero if nobody).
    function viewPresigned(bytes32 digest) external view returns (address);

    /// @notice Presign or close an app order.
    function manageAppOrder(AppOrderOperation calldata operation) external;

    /// @notice Presign or close a dataset order.
    function manageDatasetOrder(DatasetOrderOperation calldata operation) external;

    /// @notice Presign or close a workerpool order.
    function manageWorkerpoolOrder(WorkerpoolOrderOperation calldata operation) external;

    /// @notice Presign or close a request order.
    function manageRequestOrder(RequestOrderOperation calldata operation) external;

    /// @notice Match four orders into a deal; the requester pays.
    function matchOrders(
        AppOrder calldata apporder,
        DatasetOrder calldata datasetorder,
        WorkerpoolOrder calldata workerpoolorder,
        RequestOrder calldata requestorder
    ) external returns (bytes32 dealid);

    /// @notice Match four orders into a deal; the caller pays.
    function sponsorMatchOrders(
        AppOrder calldata apporder,
        DatasetOrder calldata datasetorder,
        WorkerpoolOrder calldata workerpoolorder,
        RequestOrder calldata requestorder
    ) external returns (bytes32 dealid);

    // ---------------------------------------------------------------- accounts and views (HubAccounts)

    /// @notice Deposit `amount` ECT (approved beforehand) to the caller's stake.
    function deposit(uint256 amount) external;

    /// @notice Deposit `amount` ECT of the caller to the stake of `target`.
    function depositFor(uint256 amount, address target) external;

    /// @notice Deposit with an EIP-2612 permit of the caller for the Hub, in one transaction.
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Withdraw `amount` ECT from the caller's stake.
    function withdraw(uint256 amount) external;

    /// @notice Stake and locked balance of `account` (PoCo shape).
    function viewAccount(address account) external view returns (Account memory);

    /// @notice Free stake of `account`.
    function stakeOf(address account) external view returns (uint256);

    /// @notice Locked balance of `account`.
    function lockedOf(address account) external view returns (uint256);

    /// @notice ECT held by the kitty (seized pool stakes and worker bonds).
    function viewKitty() external view returns (uint256);

    /// @notice Reputation score of `worker`.
    function viewScore(address worker) external view returns (uint256);

    /// @notice Lock `amount` of the caller's free stake as its bond to `workerpool` (adds to it,
    /// and withdraws a notice given).
    function bond(address workerpool, uint256 amount) external;

    /// @notice Give notice: the caller may take its bond for `workerpool` back after BOND_NOTICE.
    function requestUnbond(address workerpool) external;

    /// @notice Take the caller's whole bond for `workerpool` back to its stake, once its notice ran.
    function unbond(address workerpool) external;

    /// @notice The owner of `workerpool`: give `worker`'s whole bond back to its stake at once.
    function releaseBond(address workerpool, address worker) external;

    /// @notice The owner of `workerpool`: seize `amount` of `worker`'s bond into the kitty.
    function seizeBond(address workerpool, address worker, uint256 amount) external;

    /// @notice The bond `worker` keeps for `workerpool`, and when it may take it back (zero: no
    /// notice given).
    function viewBond(address workerpool, address worker) external view returns (uint256 amount, uint256 unbondAt);

    /// @notice Seconds between requestUnbond and unbond.
    function bondNotice() external pure returns (uint256);

    /// @notice Create a category; only the Hub owner.
    function createCategory(string calldata name, string calldata description, uint256 workClockTimeRef)
        external
        returns (uint256 catid);

    /// @notice Category `catid`.
    function viewCategory(uint256 catid) external view returns (Category memory);

    /// @notice Number of categories.
    function countCategory() external view returns (uint256);

    /// @notice Stored part of deal `dealid` (the rest is in DealCreated).
    function viewDeal(bytes32 dealid) external view returns (Deal memory);

    /// @notice Task `taskid`.
    function viewTask(bytes32 taskid) external view returns (TaskView memory);

    /// @notice Contribution of `worker` to task `taskid`.
    function viewContribution(bytes32 taskid, address worker) external view returns (ContributionView memory);

    /// @notice Hub owner.
    function owner() external view returns (address);

    /// @notice Propose a new Hub owner (zero withdraws the proposal); only the Hub owner.
    function transferOwnership(address newOwner) external;

    /// @notice The proposed owner takes the Hub over.
    function acceptOwnership() external;

    /// @notice The proposed owner, zero when none.
    function pendingOwner() external view returns (address);

    /// @notice The ECT token.
    function token() external view returns (address);

    /// @notice The app registry (PoCo name).
    function appregistry() external view returns (address);

    /// @notice The dataset registry (PoCo name).
    function datasetregistry() external view returns (address);

    /// @notice The workerpool registry (PoCo name).
    function workerpoolregistry() external view returns (address);
}
