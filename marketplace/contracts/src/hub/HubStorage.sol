// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IAssetRegistry} from "../registries/IRegistries.sol";
import {Category, ContributionStatus, Deal, TaskStatus} from "./HubTypes.sol";
import {IHubErrors, IHubEvents} from "./IHub.sol";

/// @title The one storage layout of the Hub and its modules.
/// @dev The Hub delegates to its modules, so every contract of the family inherits this contract
/// FIRST and declares no state of its own (immutables live in code and are fine). Never reorder,
/// retype or remove a variable here; append only.
abstract contract HubStorage is IHubEvents, IHubErrors {
    /// @dev Escrow account: both halves in one slot (9-decimal amounts fit 128 bits).
    struct AccountSlot {
        uint128 stake;
        uint128 locked;
    }

    /// @dev Stored task. Contribution and final deadlines derive from the deal (start + 7/10 ×
    /// timeRef), so they are not stored.
    struct Task {
        // slot 0
        bytes32 dealid;
        // slot 1
        TaskStatus status;
        uint40 revealDeadline;
        uint16 contributorCount; // at most MAX_CONTRIBUTORS (HubBase)
        uint16 winnerCounter;
        uint16 revealCounter;
        address lastContributor; // head of the contributors' list (linked through Contribution.next)
        // slot 2: the consensus hash until the first reveal, then the revealed result digest
        // (the consensus is keccak256(taskid, digest) then). Reusing this slot keeps `reveal`
        // from writing a fresh one.
        bytes32 consensusOrDigest;
        // slot 3: PoCo's consensus denominator, set to 1 by `initialize`.
        uint256 totalWeight;
    }

    /// @dev Stored contribution (three slots).
    struct Contribution {
        ContributionStatus status;
        uint8 weightLog; // floor(log2(w))
        address next; // the previous contributor (towards the first one), zero at the end
        bytes32 resultHash;
        bytes32 resultSeal;
    }

    /// @dev What a worker keeps locked for one pool (HubAccounts: bond), in one slot.
    struct BondSlot {
        uint128 amount;
        uint64 unbondAt; // when the worker may take it back; zero while no notice was given
    }

    /// @dev Weight of the workers agreeing on one result hash, and how many they are.
    struct Group {
        uint192 weight;
        uint64 members;
    }

    address internal _owner;
    IERC20 internal _token;
    IAssetRegistry internal _appRegistry;
    IAssetRegistry internal _datasetRegistry;
    IAssetRegistry internal _workerpoolRegistry;
    uint256 internal _kitty;
    Category[] internal _categories;
    mapping(address account => AccountSlot) internal _accounts;
    mapping(address worker => uint256) internal _scores;
    mapping(bytes32 orderDigest => uint256) internal _consumed;
    mapping(bytes32 orderDigest => address) internal _presigned;
    mapping(bytes32 dealid => Deal) internal _deals;
    mapping(bytes32 taskid => Task) internal _tasks;
    mapping(bytes32 taskid => mapping(address worker => Contribution)) internal _contributions;
    mapping(bytes32 taskid => mapping(bytes32 resultHash => Group)) internal _groups;
    /// @dev Who `transferOwnership` proposed; becomes `_owner` when it calls `acceptOwnership`.
    address internal _pendingOwner;
    /// @dev Worker bonds, per pool (HubAccounts). Their ECT count in the worker's `locked`.
    mapping(address workerpool => mapping(address worker => BondSlot)) internal _bonds;
}
