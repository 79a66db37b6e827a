// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IAssetRegistry} from "../registries/IRegistries.sol";
import {HubBase} from "./HubBase.sol";
import {ContributionStatus, Deal, TaskStatus} from "./HubTypes.sol";

/// @title SuperEdge Hub: escrow, orders, deals and Proof-of-Contribution (PoCo v5 semantics).
/// @notice This contract's own code runs the task lifecycle (the hot path: initialize, contribute,
/// reveal, reopen, finalize, claim, giveUp). Every other selector falls through to the HubOrders
/// module, whose own fallback falls through to HubAccounts; both run by delegatecall on this
/// contract's storage, so all functions, events and errors of IHub live at this address. Clients
/// use the "Hub" ABI of build.json (the union of the three).
/// @dev Tokens move only in HubAccounts' deposit/withdraw; everything here is internal accounting.
contract Hub is HubBase {
    /// @dev Where unknown selectors go (HubOrders).
    address private immutable ORDERS_MODULE;

    /// @param token The ECT token.
    /// @param appRegistry_ App registry; `datasetRegistry_`, `workerpoolRegistry_` likewise.
    /// @param ordersModule HubOrders, deployed with HubAccounts as its own fallback module.
    /// Every address must hold code (NotAContract). The deployer becomes the Hub owner (who
    /// creates categories).
    constructor(
        address token,
        address appRegistry_,
        address datasetRegistry_,
        address workerpoolRegistry_,
        address ordersModule
    ) {
        _requireContract(token);
        _requireContract(appRegistry_);
        _requireContract(datasetRegistry_);
        _requireContract(workerpoolRegistry_);
        _requireContract(ordersModule);
        _owner = msg.sender;
        _token = IERC20(token);
        _appRegistry = IAssetRegistry(appRegistry_);
        _datasetRegistry = IAssetRegistry(datasetRegistry_);
        _workerpoolRegistry = IAssetRegistry(workerpoolRegistry_);
        ORDERS_MODULE = ordersModule;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    /// @notice Every function not defined here runs in the modules (see the contract notice).
    fallback() external {
        _delegate(ORDERS_MODULE);
    }

    // ------------------------------------------------------------------ tasks

    /// @notice Start task `idx` of deal `dealid`: status ACTIVE. Anyone may call, at any time
    /// (after the final deadline it only serves to `claim` the refund). Emits TaskInitialize
    /// and TaskCreated.
    /// @param dealid The deal (see OrdersMatched / DealCreated).
    /// @param idx Task index in [botFirst, botFirst + volume).
    /// @return taskid keccak256(abi.encodePacked(dealid, idx)) with idx as uint256.
    function initialize(bytes32 dealid, uint256 idx) external returns (bytes32 taskid) {
        return _initialize(dealid, idx);
    }

    /// @notice `initialize(dealids[i], idxs[i])` for every i, in order, in one transaction; a
    /// refusal of any reverts them all. With `claimArray`, a scheduler refunds a deal it cannot
    /// serve in a few transactions: about 75 k gas per task to initialize and 25 k per task to
    /// claim without contributions, so hundreds of tasks fit in each.
    /// @param dealids The deals, one per task.
    /// @param idxs The task indexes, as many as `dealids` (ArrayLengthMismatch otherwise).
    /// @return True (PoCo's shape).
    function initializeArray(bytes32[] calldata dealids, uint256[] calldata idxs) external returns (bool) {
        uint256 count = dealids.length;
        if (count != idxs.length) revert ArrayLengthMismatch(count, idxs.length);
        for (uint256 i; i < count; ++i) {
            _initialize(dealids[i], idxs[i]);
        }
        return true;
    }

    /// @notice Commit a result to an ACTIVE task, before its contribution deadline
    /// (deal start + 7 × timeRef), once per worker, up to MAX_CONTRIBUTORS (32) contributions
    /// per task (TooManyContributors). Locks the deal's workerStake from the caller's Hub stake,
    /// and moves the task to REVEALING when consensus is reached.
    /// @param taskid The task.
    /// @param resultHash keccak256(abi.encodePacked(taskid, resultDigest)), non-zero.
    /// @param resultSeal keccak256(abi.encodePacked(worker, taskid, resultDigest)), non-zero.
    /// @param authorization The scheduler's (the workerpool owner at match time) signature, 65
    /// or 64 bytes (or ERC-1271), over the EIP-191 personal-message hash of the 32-byte
    /// keccak256(abi.encodePacked(worker, taskid)), i.e.
    /// `MessageHashUtils.toEthSignedMessageHash(keccak256(abi.encodePacked(worker, taskid)))`;
    /// in Python: `Account.sign_message(encode_defunct(primitive=keccak(worker_bytes20 + taskid)), key)`.
    /// @dev Weight w = max(score / 3, 3) - 1; the hash's group grows by max(group, 1)·w − group and
    /// so does the total; consensus when group·trust > total·(trust − 1).
    function contribute(bytes32 taskid, bytes32 resultHash, bytes32 resultSeal, bytes calldata authorization)
        external
    {
        Task storage task = _tasks[taskid];
        if (task.status != TaskStatus.ACTIVE) revert WrongTaskStatus(taskid, uint8(task.status));
        Deal storage deal = _deals[task.dealid];
        uint256 timeRef = deal.timeRef;
        uint256 deadline = deal.startTime + CONTRIBUTION_DEADLINE_RATIO * timeRef;
        if (block.timestamp >= deadline) revert DeadlineReached(taskid, deadline);
        Contribution storage contribution = _contributions[taskid][msg.sender];
        if (contribution.status != ContributionStatus.UNSET) revert AlreadyContributed(taskid, msg.sender);
        uint256 contributorCount = task.contributorCount;
        if (contributorCount >= MAX_CONTRIBUTORS) revert TooManyContributors(taskid, MAX_CONTRIBUTORS);
        if (resultHash == 0 || resultSeal == 0) revert EmptyCommitment(taskid);
        address scheduler = deal.workerpoolOwner;
        bytes32 authorized = MessageHashUtils.toEthSignedMessageHash(keccak256(abi.encodePacked(msg.sender, taskid)));
        if (!_isValidSignature(scheduler, authorized, authorization)) {
            revert UnauthorizedWorker(taskid, msg.sender, scheduler);
        }

        _lock(msg.sender, deal.workerStake, taskid);

        uint256 weight = Math.max(_scores[msg.sender] / 3, 3) - 1;
        Group memory group = _groups[taskid][resultHash];
        uint256 groupWeight = Math.max(group.weight, 1) * weight;
        uint256 total = task.totalWeight + groupWeight - group.weight;
        if (total > type(uint192).max) revert ValueOverflow(total, type(uint192).max);
        uint64 members = group.members + 1;
        _groups[taskid][resultHash] = Group(uint192(groupWeight), members);
        task.totalWeight = total;

        _contributions[taskid][msg.sender] = Contribution({
            status: ContributionStatus.CONTRIBUTED,
            weightLog: uint8(Math.log2(weight)),
            next: task.lastContributor,
            resultHash: resultHash,
            resultSeal: resultSeal
        });
        task.lastContributor = msg.sender;
        task.contributorCount = uint16(contributorCount + 1); // at most MAX_CONTRIBUTORS
        emit TaskContribute(taskid, msg.sender, resultHash);

        // groupWeight, total < 2^192 and trust < 2^64: the products cannot overflow.
        uint256 trust = deal.trust;
        if (groupWeight * trust > total * (trust - 1)) {
            task.status = TaskStatus.REVEALING;
            task.revealDeadline = uint40(block.timestamp + REVEAL_DEADLINE_RATIO * timeRef);
            task.winnerCounter = uint16(members);
            task.consensusOrDigest = resultHash;
            emit TaskConsensus(taskid, resultHash);
        }
    }

    /// @notice Reveal the result digest committed to, for a contributor of the consensus hash,
    /// while the task is REVEALING and before its reveal deadline. The contribution becomes
    /// PROVED; its stored hash and seal are cleared (they follow from the digest).
    /// @param taskid The task.
    /// @param resultDigest The digest whose hash and seal the caller committed.
    function reveal(bytes32 taskid, bytes32 resultDigest) external {
        Task storage task = _tasks[taskid];
        if (task.status != TaskStatus.REVEALING) revert WrongTaskStatus(taskid, uint8(task.status));
        uint256 revealDeadline = task.revealDeadline;
        if (block.timestamp >= revealDeadline) revert DeadlineReached(taskid, revealDeadline);
        Contribution storage contribution = _contributions[taskid][msg.sender];
        if (contribution.status != ContributionStatus.CONTRIBUTED) {
            revert WrongContributionStatus(taskid, msg.sender, uint8(contribution.status));
        }
        bytes32 revealedHash = keccak256(abi.encodePacked(taskid, resultDigest));
        uint16 reveals = task.revealCounter;
        bytes32 stored = task.consensusOrDigest;
        if (reveals == 0) {
            if (revealedHash != stored) revert RevealMismatch(taskid, stored, revealedHash);
        } else if (resultDigest != stored) {
            revert RevealMismatch(taskid, keccak256(abi.encodePacked(taskid, stored)), revealedHash);
        }
        bytes32 committed = contribution.resultHash;
        if (committed != revealedHash) revert NotInConsensus(taskid, msg.sender, committed, revealedHash);
        if (contribution.resultSeal != keccak256(abi.encodePacked(msg.sender, taskid, resultDigest))) {
            revert SealMismatch(taskid, msg.sender);
        }
        contribution.status = ContributionStatus.PROVED;
        // The commitment is now implied by the stored digest (viewContribution recomputes both
        // values): clearing it returns storage, and refunds gas, to the worker.
        contribution.resultHash = 0;
        contribution.resultSeal = 0;
        task.revealCounter = reveals + 1;
        if (reveals == 0) task.consensusOrDigest = resultDigest;
        emit TaskReveal(taskid, msg.sender, resultDigest);
    }

    /// @notice Scheduler only: after the reveal deadline passed with no reveal (and before the
    /// final deadline), reject the consensus group and make the task ACTIVE again.
    /// @param taskid The task.
    function reopen(bytes32 taskid) external {
        Task storage task = _tasks[taskid];
        Deal storage deal = _deals[task.dealid];
        _onlyScheduler(taskid, deal);
        if (task.status != TaskStatus.REVEALING) revert WrongTaskStatus(taskid, uint8(task.status));
        uint256 finalDeadline = _finalDeadline(deal);
        if (block.timestamp >= finalDeadline) revert DeadlineReached(taskid, finalDeadline);
        uint256 revealDeadline = task.revealDeadline;
        if (task.revealCounter != 0 || block.timestamp < revealDeadline) {
            revert ReopenNotAllowed(taskid, task.revealCounter, revealDeadline);
        }
        bytes32 consensus = task.consensusOrDigest; // no reveal yet: still the consensus hash
        for (address worker = task.lastContributor; worker != address(0);) {
            Contribution storage contribution = _contributions[taskid][worker];
            if (contribution.resultHash == consensus) contribution.status = ContributionStatus.REJECTED;
            worker = contribution.next;
        }
        task.totalWeight -= _groups[taskid][consensus].weight;
        delete _groups[taskid][consensus];
        task.status = TaskStatus.ACTIVE;
        task.revealDeadline = 0;
        task.winnerCounter = 0;
        task.consensusOrDigest = 0;
        emit TaskReopen(taskid);
    }

    /// @notice Scheduler only: complete a REVEALING task before its final deadline (deal start +
    /// 10 × timeRef), once every winner revealed or the reveal deadline passed with at least one
    /// reveal. The payer pays app, dataset and workerpool prices; app and dataset owners are
    /// credited in the Hub; the pool stake is unlocked; revealed winners share the workerpool
    /// price plus the losers' seized stakes minus the scheduler's ratio, in proportion to
    /// floor(log2(w)); the scheduler gets the rest (rounding dust included). Winners gain one
    /// score point when more than one worker contributed; losers and silent winners lose their
    /// stake and a third of their score. WorkerScore gives each score that changed.
    /// @param taskid The task.
    /// @param results Where the result is (e.g. a URL); emitted in TaskFinalize, not stored. The
    /// result's digest is the revealed one (`viewTask(taskid).resultDigest`).
    function finalize(bytes32 taskid, bytes calldata results) external {
        Task storage task = _tasks[taskid];
        Deal storage deal = _deals[task.dealid];
        address scheduler = _onlyScheduler(taskid, deal);
        if (task.status != TaskStatus.REVEALING) revert WrongTaskStatus(taskid, uint8(task.status));
        uint256 finalDeadline = _finalDeadline(deal);
        if (block.timestamp >= finalDeadline) revert DeadlineReached(taskid, finalDeadline);
        uint256 reveals = task.revealCounter;
        if (reveals != task.winnerCounter && (reveals == 0 || block.timestamp < task.revealDeadline)) {
            revert RevealsPending(taskid, reveals, task.winnerCounter, task.revealDeadline);
        }
        task.status = TaskStatus.COMPLETED;

        uint256 appPrice = deal.appPrice;
        uint256 datasetPrice = deal.datasetPrice;
        uint256 workerpoolPrice = deal.workerpoolPrice;
        _seize(deal.payer, appPrice + datasetPrice + workerpoolPrice, taskid);
        _reward(deal.appOwner, appPrice, taskid);
        _reward(deal.datasetOwner, datasetPrice, taskid);
        uint256 workerStake = deal.workerStake;
        uint256 schedulerShare =
            _payWorkers(taskid, task, workerpoolPrice, workerStake, deal.schedulerRewardRatio);
        _unlockAndReward(scheduler, workerStake, schedulerShare, taskid);
        emit TaskFinalize(taskid, results);
    }

    /// @notice Anyone, at or after the final deadline of an ACTIVE or REVEALING task: the task
    /// FAILS, the payer's price is unlocked back to its stake, the pool stake goes to the kitty,
    /// and every contributor's stake is unlocked.
    /// @param taskid The task (initialize it first if it never was).
    function claim(bytes32 taskid) external {
        _claim(taskid);
    }

    /// @notice Scheduler only: give up an ACTIVE task before its final deadline, when the pool
    /// cannot serve it (its app fails the same way on every worker, say). The same effect as
    /// `claim`, at once: the task FAILS, the payer's price is unlocked back to its stake, the
    /// pool stake goes to the kitty, and every contributor's stake is unlocked. Refused once the
    /// task has a consensus (GiveUpAfterConsensus: finalize it, or reopen it) and at or after
    /// the final deadline (GiveUpPastFinalDeadline: anyone may `claim` it then). Emits
    /// TaskClaimed, then TaskGivenUp.
    /// @param taskid The task.
    function giveUp(bytes32 taskid) external {
        Task storage task = _tasks[taskid];
        TaskStatus status = task.status;
        if (status == TaskStatus.UNSET) revert WrongTaskStatus(taskid, uint8(status));
        Deal storage deal = _deals[task.dealid];
        _onlyScheduler(taskid, deal);
        if (status == TaskStatus.REVEALING || status == TaskStatus.COMPLETED) {
            revert GiveUpAfterConsensus(taskid, uint8(status));
        }
        if (status != TaskStatus.ACTIVE) revert WrongTaskStatus(taskid, uint8(status));
        uint256 finalDeadline = _finalDeadline(deal);
        if (block.timestamp >= finalDeadline) revert GiveUpPastFinalDeadline(taskid, finalDeadline);
        _fail(taskid, task, deal);
        emit TaskGivenUp(taskid);
    }

    /// @notice `claim` every task of `taskids`, in order, in one transaction; a refusal of any
    /// reverts them all.
    /// @param taskids The tasks (initialized: see initializeArray).
    /// @return True (PoCo's shape).
    function claimArray(bytes32[] calldata taskids) external returns (bool) {
        uint256 count = taskids.length;
        for (uint256 i; i < count; ++i) {
            _claim(taskids[i]);
        }
        return true;
    }

    // ------------------------------------------------------------------ internals

    function _initialize(bytes32 dealid, uint256 idx) private returns (bytes32 taskid) {
        Deal storage deal = _deals[dealid];
        uint256 botFirst = deal.botFirst;
        uint256 volume = deal.volume;
        if (volume == 0) revert UnknownDeal(dealid);
        if (idx < botFirst || idx - botFirst >= volume) {
            revert TaskIndexOutOfRange(dealid, idx, botFirst, volume);
        }
        taskid = keccak256(abi.encodePacked(dealid, idx));
        Task storage task = _tasks[taskid];
        if (task.status != TaskStatus.UNSET) revert WrongTaskStatus(taskid, uint8(task.status));
        task.dealid = dealid;
        task.status = TaskStatus.ACTIVE;
        task.totalWeight = 1; // PoCo's consensus denominator starts at 1
        emit TaskInitialize(taskid, deal.workerpool);
        emit TaskCreated(taskid, dealid, idx);
    }

    function _claim(bytes32 taskid) private {
        Task storage task = _tasks[taskid];
        TaskStatus status = task.status;
        if (status != TaskStatus.ACTIVE && status != TaskStatus.REVEALING) {
            revert WrongTaskStatus(taskid, uint8(status));
        }
        Deal storage deal = _deals[task.dealid];
        uint256 finalDeadline = _finalDeadline(deal);
        if (block.timestamp < finalDeadline) revert DeadlineNotReached(taskid, finalDeadline);
        _fail(taskid, task, deal);
    }

    /// @dev What `claim` and `giveUp` do once their checks passed: the task FAILS, the payer is
    /// refunded, the pool stake goes to the kitty, the contributors' stakes are unlocked.
    function _fail(bytes32 taskid, Task storage task, Deal storage deal) private {
        task.status = TaskStatus.FAILED;

        _unlockAndReward(deal.payer, uint256(deal.appPrice) + deal.datasetPrice + deal.workerpoolPrice, 0, taskid);
        uint256 workerStake = deal.workerStake;
        if (workerStake != 0) {
            _seize(deal.workerpoolOwner, workerStake, taskid);
            uint256 kitty = _kitty + workerStake;
            _kitty = kitty;
            emit KittyCredit(workerStake, kitty, taskid);
            for (address worker = task.lastContributor; worker != address(0);) {
                _unlockAndReward(worker, workerStake, 0, taskid);
                worker = _contributions[taskid][worker].next;
            }
        }
        emit TaskClaimed(taskid);
    }

    function _onlyScheduler(bytes32 taskid, Deal storage deal) private view returns (address scheduler) {
        scheduler = deal.workerpoolOwner;
        if (msg.sender != scheduler) revert NotScheduler(taskid, msg.sender, scheduler);
    }

    function _finalDeadline(Deal storage deal) private view returns (uint256) {
        return deal.startTime + FINAL_DEADLINE_RATIO * deal.timeRef;
    }

    /// @dev PoCo v5 reward distribution; returns what is left for the scheduler.
    function _payWorkers(
        bytes32 taskid,
        Task storage task,
        uint256 workerpoolPrice,
        uint256 workerStake,
        uint256 schedulerRewardRatio
    ) private returns (uint256 remaining) {
        address head = task.lastContributor;
        uint256 totalLogWeight;
        remaining = workerpoolPrice;
        for (address worker = head; worker != address(0);) {
            Contribution storage contribution = _contributions[taskid][worker];
            if (contribution.status == ContributionStatus.PROVED) totalLogWeight += contribution.weightLog;
            else remaining += workerStake;
            worker = contribution.next;
        }
        uint256 workersReward = remaining * (100 - schedulerRewardRatio) / 100;
        bool replicated = task.contributorCount > 1;
        for (address worker = head; worker != address(0);) {
            Contribution storage contribution = _contributions[taskid][worker];
            if (contribution.status == ContributionStatus.PROVED) {
                // totalLogWeight >= 1: finalize needs a reveal, and every weight is >= 2.
                uint256 share = workersReward * contribution.weightLog / totalLogWeight;
                remaining -= share;
                _unlockAndReward(worker, workerStake, share, taskid);
                if (replicated) {
                    uint256 score = _scores[worker] + 1;
                    _scores[worker] = score;
                    emit AccurateContribution(worker, taskid);
                    emit WorkerScore(worker, taskid, score);
                }
            } else {
                _seize(worker, workerStake, taskid);
                emit FaultyContribution(worker, taskid);
                uint256 score = _scores[worker];
                if (score != 0) {
                    score = score * 2 / 3;
                    _scores[worker] = score;
                    emit WorkerScore(worker, taskid, score);
                }
            }
            worker = contribution.next;
        }
    }
}
