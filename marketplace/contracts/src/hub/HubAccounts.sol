// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {HubBase} from "./HubBase.sol";
import {Account, Category, ContributionStatus, ContributionView, Deal, TaskView} from "./HubTypes.sol";

/// @title Hub module: escrow deposits and withdrawals, categories, ownership and views.
/// @notice Runs only by delegatecall from the Hub (through HubOrders' fallback). The only places
/// where ECT moves in or out of the Hub are deposit* and withdraw, which follow
/// checks-effects-interactions with SafeERC20.
contract HubAccounts is HubBase {
    using SafeERC20 for IERC20;

    /// @notice Reverts: this is the last module, the selector exists nowhere.
    fallback() external {
        revert UnknownFunction(msg.sig);
    }

    // ------------------------------------------------------------------ escrow

    /// @notice Move `amount` ECT from the caller (approved for the Hub) to the caller's stake.
    /// @param amount In token units (9 decimals).
    function deposit(uint256 amount) external {
        _deposit(msg.sender, amount);
    }

    /// @notice Move `amount` ECT from the caller (approved for the Hub) to the stake of `target`.
    /// @param amount In token units.
    /// @param target Credited account, non-zero.
    function depositFor(uint256 amount, address target) external {
        if (target == address(0)) revert ZeroAddress();
        _deposit(target, amount);
    }

    /// @notice Deposit in one transaction with an EIP-2612 permit signed by the caller for
    /// (owner = caller, spender = Hub, value = amount, deadline). A permit already used (e.g.
    /// front-run) is tolerated as long as the allowance covers `amount`.
    /// @param amount In token units.
    /// @param deadline Permit deadline (unix seconds).
    /// @param v Permit signature v.
    /// @param r Permit signature r.
    /// @param s Permit signature s.
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external {
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _deposit(msg.sender, amount);
    }

    /// @notice Move `amount` ECT from the caller's free stake back to the caller.
    /// @param amount In token units; at most `stakeOf(caller)`.
    function withdraw(uint256 amount) external {
        AccountSlot memory current = _accounts[msg.sender];
        if (current.stake < amount) revert InsufficientStake(msg.sender, current.stake, amount);
        unchecked {
            _accounts[msg.sender] = AccountSlot(current.stake - uint128(amount), current.locked);
        }
        emit Withdraw(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @notice Escrow account of `account` (PoCo shape).
    /// @param account Any address.
    /// @return (stake, locked).
    function viewAccount(address account) external view returns (Account memory) {
        AccountSlot memory current = _accounts[account];
        return Account(current.stake, current.locked);
    }

    /// @notice Free stake of `account`.
    /// @param account Any address.
    /// @return Stake in token units.
    function stakeOf(address account) external view returns (uint256) {
        return _accounts[account].stake;
    }

    /// @notice Locked balance of `account`.
    /// @param account Any address.
    /// @return Locked amount in token units.
    function lockedOf(address account) external view returns (uint256) {
        return _accounts[account].locked;
    }

    /// @notice ECT in the kitty: pool stakes seized by `claim` and worker bonds seized by their
    /// pool. Hub balance = Σ stake + Σ locked + kitty.
    /// @return Kitty in token units.
    function viewKitty() external view returns (uint256) {
        return _kitty;
    }

    // ------------------------------------------------------------------ worker bonds

    /// @dev Between requestUnbond and unbond: at least as long as any task's final deadline
    /// (createCategory caps reference times at MAX_TIME_REF), so a pool can still seize the bond
    /// of a worker whose misconduct comes to light when a task it failed or lied on ends.
    uint256 internal constant BOND_NOTICE = 7 days;
    /// @dev The longest reference time of a category: 10 of them (a task's final deadline) fit in
    /// BOND_NOTICE (60,480 s, about 16.8 hours; XL is 36,000 s).
    uint256 internal constant MAX_TIME_REF = BOND_NOTICE / FINAL_DEADLINE_RATIO;
    /// @dev Asset code of a workerpool in errors (see IHubErrors).
    uint8 private constant WORKERPOOL_ASSET = 2;

    /// @notice Lock `amount` of the caller's free stake as its bond to `workerpool`: what a pool
    /// may ask of the workers it admits, and may seize (into the kitty, so that the pool gains
    /// nothing by it) when they cheat. Adds to the bond, and withdraws any notice given.
    /// @param workerpool A registered workerpool.
    /// @param amount In token units, at most the caller's free stake.
    function bond(address workerpool, uint256 amount) external {
        if (!_workerpoolRegistry.isRegistered(workerpool)) revert AssetNotRegistered(WORKERPOOL_ASSET, workerpool);
        if (amount == 0) revert ZeroBond();
        BondSlot memory current = _bonds[workerpool][msg.sender];
        _lock(msg.sender, amount, _bondRef(workerpool));
        uint128 total = _u128(current.amount + amount);
        _bonds[workerpool][msg.sender] = BondSlot(total, 0);
        emit WorkerBond(workerpool, msg.sender, total, 0);
    }

    /// @notice Give notice that the caller will take its bond for `workerpool` back: possible
    /// BOND_NOTICE seconds from now (unbond). The pool may still seize it meanwhile.
    /// @param workerpool The pool the caller is bonded to.
    function requestUnbond(address workerpool) external {
        BondSlot memory current = _bonds[workerpool][msg.sender];
        if (current.amount == 0) revert BondTooSmall(workerpool, msg.sender, 0, 1);
        uint64 unbondAt = uint64(block.timestamp + BOND_NOTICE);
        _bonds[workerpool][msg.sender] = BondSlot(current.amount, unbondAt);
        emit WorkerBond(workerpool, msg.sender, current.amount, unbondAt);
    }

    /// @notice Take the caller's whole bond for `workerpool` back to its free stake, once the
    /// notice given by requestUnbond ran out.
    /// @param workerpool The pool the caller is bonded to.
    function unbond(address workerpool) external {
        BondSlot memory current = _bonds[workerpool][msg.sender];
        if (current.amount == 0) revert BondTooSmall(workerpool, msg.sender, 0, 1);
        if (current.unbondAt == 0 || block.timestamp < current.unbondAt) {
            revert BondNoticeRunning(workerpool, msg.sender, current.unbondAt);
        }
        delete _bonds[workerpool][msg.sender];
        _unlockAndReward(msg.sender, current.amount, 0, _bondRef(workerpool));
        emit WorkerBond(workerpool, msg.sender, 0, 0);
    }

    /// @notice The owner of `workerpool` gives `worker`'s whole bond back to its free stake at
    /// once (a member it lets go in good standing).
    /// @param workerpool The caller's pool.
    /// @param worker A worker bonded to it.
    function releaseBond(address workerpool, address worker) external {
        _onlyWorkerpoolOwner(workerpool);
        BondSlot memory current = _bonds[workerpool][worker];
        if (current.amount == 0) revert BondTooSmall(workerpool, worker, 0, 1);
        delete _bonds[workerpool][worker];
        _unlockAndReward(worker, current.amount, 0, _bondRef(workerpool));
        emit WorkerBond(workerpool, worker, 0, 0);
    }

    /// @notice The owner of `workerpool` seizes `amount` of `worker`'s bond into the kitty (the
    /// pool does not profit from it).
    /// @param workerpool The caller's pool.
    /// @param worker A worker bonded to it.
    /// @param amount In token units, at most the bond.
    function seizeBond(address workerpool, address worker, uint256 amount) external {
        _onlyWorkerpoolOwner(workerpool);
        if (amount == 0) revert ZeroBond();
        BondSlot memory current = _bonds[workerpool][worker];
        if (current.amount < amount) revert BondTooSmall(workerpool, worker, current.amount, amount);
        bytes32 ref = _bondRef(workerpool);
        unchecked {
            current.amount -= uint128(amount); // amount <= current.amount < 2^128
        }
        _bonds[workerpool][worker] = current;
        _seize(worker, amount, ref);
        uint256 kitty = _kitty + amount;
        _kitty = kitty;
        emit KittyCredit(amount, kitty, ref);
        emit WorkerBond(workerpool, worker, current.amount, current.unbondAt);
    }

    /// @notice The bond `worker` keeps for `workerpool`.
    /// @param workerpool A pool.
    /// @param worker A worker.
    /// @return amount In token units.
    /// @return unbondAt When the worker may take it back (unix seconds; zero: no notice given).
    function viewBond(address workerpool, address worker) external view returns (uint256 amount, uint256 unbondAt) {
        BondSlot memory current = _bonds[workerpool][worker];
        return (current.amount, current.unbondAt);
    }

    /// @notice Seconds between requestUnbond and unbond.
    /// @return BOND_NOTICE.
    function bondNotice() external pure returns (uint256) {
        return BOND_NOTICE;
    }

    /// @dev The `ref` of a bond's escrow events: the pool's address as a word.
    function _bondRef(address workerpool) private pure returns (bytes32) {
        return bytes32(uint256(uint160(workerpool)));
    }

    function _onlyWorkerpoolOwner(address workerpool) private view {
        address owner_ = _workerpoolRegistry.assetOwner(workerpool);
        if (owner_ == address(0)) revert AssetNotRegistered(WORKERPOOL_ASSET, workerpool);
        if (msg.sender != owner_) revert NotWorkerpoolOwner(workerpool, msg.sender, owner_);
    }

    // ------------------------------------------------------------------ categories and ownership

    /// @notice Create a category. Only the Hub owner.
    /// @param name Short name (e.g. "XS").
    /// @param description Free text.
    /// @param workClockTimeRef Reference duration in seconds, in [1, MAX_TIME_REF]: every task's
    /// final deadline then falls within a bond's notice (see BOND_NOTICE).
    /// @return catid The new category's id (ids count from 0).
    function createCategory(string calldata name, string calldata description, uint256 workClockTimeRef)
        external
        onlyOwner
        returns (uint256 catid)
    {
        if (workClockTimeRef == 0 || workClockTimeRef > MAX_TIME_REF) revert InvalidTimeRef(workClockTimeRef);
        catid = _categories.length;
        _categories.push(Category(name, description, workClockTimeRef));
        emit CreateCategory(catid, name, description, workClockTimeRef);
    }

    /// @notice Category `catid`.
    /// @param catid Category id.
    /// @return (name, description, workClockTimeRef).
    function viewCategory(uint256 catid) external view returns (Category memory) {
        if (catid >= _categories.length) revert UnknownCategory(catid, _categories.length);
        return _categories[catid];
    }

    /// @notice Number of categories.
    /// @return The count.
    function countCategory() external view returns (uint256) {
        return _categories.length;
    }

    /// @notice The Hub owner.
    /// @return The owner's address.
    function owner() external view returns (address) {
        return _owner;
    }

    /// @notice Propose `newOwner` as the Hub owner; nothing changes until `newOwner` calls
    /// acceptOwnership, so a mistyped address cannot take the Hub away. A new proposal replaces
    /// the pending one; zero withdraws it. Only the Hub owner.
    /// @param newOwner The proposed owner, or zero.
    function transferOwnership(address newOwner) external onlyOwner {
        _pendingOwner = newOwner;
        emit OwnershipTransferStarted(_owner, newOwner);
    }

    /// @notice The proposed owner (see transferOwnership) takes the Hub over.
    function acceptOwnership() external {
        address pending = _pendingOwner;
        if (msg.sender != pending) revert NotPendingOwner(msg.sender, pending);
        emit OwnershipTransferred(_owner, pending);
        _owner = pending;
        _pendingOwner = address(0);
    }

    /// @notice The owner proposed by transferOwnership and not accepted yet.
    /// @return Its address, zero when none.
    function pendingOwner() external view returns (address) {
        return _pendingOwner;
    }

    /// @notice The ECT token held in escrow.
    /// @return Token address.
    function token() external view returns (address) {
        return address(_token);
    }

    /// @notice App registry (PoCo name).
    /// @return Registry address.
    function appregistry() external view returns (address) {
        return address(_appRegistry);
    }

    /// @notice Dataset registry (PoCo name).
    /// @return Registry address.
    function datasetregistry() external view returns (address) {
        return address(_datasetRegistry);
    }

    /// @notice Workerpool registry (PoCo name).
    /// @return Registry address.
    function workerpoolregistry() external view returns (address) {
        return address(_workerpoolRegistry);
    }

    // ------------------------------------------------------------------ deals, tasks, scores

    /// @notice Stored part of a deal (all zeros when unknown); the rest is in DealCreated.
    /// @param dealid The deal.
    /// @return The Deal struct (see HubTypes).
    function viewDeal(bytes32 dealid) external view returns (Deal memory) {
        return _deals[dealid];
    }

    /// @notice A task with its deadlines, consensus, revealed digest and contributors.
    /// @param taskid The task.
    /// @return view_ status, dealid, contributionDeadline, revealDeadline, finalDeadline,
    /// consensusValue, resultDigest, revealCounter, winnerCounter, totalWeight, contributors
    /// (deadlines 0 while UNSET).
    function viewTask(bytes32 taskid) external view returns (TaskView memory view_) {
        Task storage task = _tasks[taskid];
        view_.status = task.status;
        view_.dealid = task.dealid;
        view_.revealDeadline = task.revealDeadline;
        view_.revealCounter = task.revealCounter;
        view_.winnerCounter = task.winnerCounter;
        view_.totalWeight = task.totalWeight;
        if (task.dealid != 0) {
            Deal storage deal = _deals[task.dealid];
            view_.contributionDeadline = deal.startTime + CONTRIBUTION_DEADLINE_RATIO * deal.timeRef;
            view_.finalDeadline = deal.startTime + FINAL_DEADLINE_RATIO * deal.timeRef;
        }
        bytes32 stored = task.consensusOrDigest;
        if (task.revealCounter == 0) {
            view_.consensusValue = stored;
        } else {
            view_.resultDigest = stored;
            view_.consensusValue = keccak256(abi.encodePacked(taskid, stored));
        }
        uint256 count = task.contributorCount;
        view_.contributors = new address[](count);
        address worker = task.lastContributor;
        for (uint256 i = count; i > 0; --i) {
            view_.contributors[i - 1] = worker;
            worker = _contributions[taskid][worker].next;
        }
    }

    /// @notice Contribution of `worker` to `taskid` (all zeros when none).
    /// @param taskid The task.
    /// @param worker The worker.
    /// @return (status, resultHash, resultSeal, weight = floor(log2(w))).
    function viewContribution(bytes32 taskid, address worker) external view returns (ContributionView memory) {
        Contribution storage contribution = _contributions[taskid][worker];
        if (contribution.status != ContributionStatus.PROVED) {
            return ContributionView(
                contribution.status, contribution.resultHash, contribution.resultSeal, contribution.weightLog
            );
        }
        // `reveal` cleared the commitment of a PROVED contribution: rebuild it from the digest.
        bytes32 digest = _tasks[taskid].consensusOrDigest;
        return ContributionView(
            ContributionStatus.PROVED,
            keccak256(abi.encodePacked(taskid, digest)),
            keccak256(abi.encodePacked(worker, taskid, digest)),
            contribution.weightLog
        );
    }

    /// @notice Reputation score of a worker (kept across pools).
    /// @param worker The worker.
    /// @return Score.
    function viewScore(address worker) external view returns (uint256) {
        return _scores[worker];
    }

    // ------------------------------------------------------------------ internals

    function _deposit(address target, uint256 amount) private {
        AccountSlot memory current = _accounts[target];
        _accounts[target] = AccountSlot(current.stake + _u128(amount), current.locked);
        emit Deposit(msg.sender, target, amount);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }
}
