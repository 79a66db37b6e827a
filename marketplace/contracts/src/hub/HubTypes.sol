// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

/// @title Types shared by the Hub, its modules and its clients.
/// @dev The order structs keep PoCo v5's field order (the EIP-712 type's fields followed by
/// `bytes sign`), so that existing PoCo tooling encodes `matchOrders` calldata unchanged.

/// @notice Task lifecycle: UNSET → ACTIVE → REVEALING → COMPLETED | FAILED (ABI: uint8).
enum TaskStatus {
    UNSET,
    ACTIVE,
    REVEALING,
    COMPLETED,
    FAILED
}

/// @notice Contribution lifecycle (ABI: uint8). REJECTED marks a consensus group dropped by `reopen`.
enum ContributionStatus {
    UNSET,
    CONTRIBUTED,
    PROVED,
    REJECTED
}

/// @notice `manage*Order` operations (ABI: uint8): SIGN presigns on chain, CLOSE cancels.
enum OrderOperation {
    SIGN,
    CLOSE
}

/// @notice Codes carried by errors to say which order (or asset, or restricted field) failed.
library Kind {
    uint8 internal constant APP = 0;
    uint8 internal constant DATASET = 1;
    uint8 internal constant WORKERPOOL = 2;
    /// @dev The request order, or as a restricted field the requester.
    uint8 internal constant REQUEST = 3;
}

/// @notice EIP-712 domain as PoCo's `domain()` returns it.
struct EIP712Domain {
    string name;
    string version;
    uint256 chainId;
    address verifyingContract;
}

struct AppOrder {
    address app;
    uint256 appprice;
    uint256 volume;
    bytes32 tag;
    address datasetrestrict;
    address workerpoolrestrict;
    address requesterrestrict;
    bytes32 salt;
    bytes sign;
}

struct DatasetOrder {
    address dataset;
    uint256 datasetprice;
    uint256 volume;
    bytes32 tag;
    address apprestrict;
    address workerpoolrestrict;
    address requesterrestrict;
    bytes32 salt;
    bytes sign;
}

struct WorkerpoolOrder {
    address workerpool;
    uint256 workerpoolprice;
    uint256 volume;
    bytes32 tag;
    uint256 category;
    uint256 trust;
    address apprestrict;
    address datasetrestrict;
    address requesterrestrict;
    bytes32 salt;
    bytes sign;
}

struct RequestOrder {
    address app;
    uint256 appmaxprice;
    address dataset;
    uint256 datasetmaxprice;
    address workerpool;
    uint256 workerpoolmaxprice;
    address requester;
    uint256 volume;
    bytes32 tag;
    uint256 category;
    uint256 trust;
    address beneficiary;
    address callback;
    string params;
    bytes32 salt;
    bytes sign;
}

struct AppOrderOperation {
    AppOrder order;
    OrderOperation operation;
    bytes sign;
}

struct DatasetOrderOperation {
    DatasetOrder order;
    OrderOperation operation;
    bytes sign;
}

struct WorkerpoolOrderOperation {
    WorkerpoolOrder order;
    OrderOperation operation;
    bytes sign;
}

struct RequestOrderOperation {
    RequestOrder order;
    OrderOperation operation;
    bytes sign;
}

/// @notice Escrow account as `viewAccount` returns it (PoCo shape).
struct Account {
    uint256 stake;
    uint256 locked;
}

/// @notice Pay-per-task category; every task deadline derives from `workClockTimeRef` (seconds).
struct Category {
    string name;
    string description;
    uint256 workClockTimeRef;
}

/// @notice What the tasks of a deal need, packed into six slots. Everything else about a deal
/// (app, dataset, requester, beneficiary, callback, category, tag, params) is in `DealCreated`.
/// @dev Slot 0 is read by initialize/contribute/finalize/claim, slot 1 by initialize/contribute,
/// slot 2 by contribute/reopen/finalize/claim, slots 3-5 by finalize/claim.
struct Deal {
    // slot 0
    address workerpool;
    uint40 startTime;
    uint32 timeRef; // the category's workClockTimeRef at match time
    uint8 schedulerRewardRatio; // percent of the workers' reward kept by the scheduler
    // slot 1
    uint96 botFirst; // index of the first task (consumed volume of the request before the match)
    uint96 volume; // number of tasks
    uint64 trust; // max(request.trust, 1)
    // slot 2
    address workerpoolOwner; // the scheduler: authorizes workers, finalizes, gets its reward
    uint96 workerStake; // stake per contribution, and pool stake per task
    // slot 3
    address payer; // requester, or the sponsor of sponsorMatchOrders
    uint96 workerpoolPrice;
    // slot 4
    address appOwner;
    uint96 appPrice;
    // slot 5
    address datasetOwner;
    uint96 datasetPrice;
}

/// @notice A task as `viewTask` returns it.
struct TaskView {
    TaskStatus status;
    bytes32 dealid;
    uint256 contributionDeadline;
    uint256 revealDeadline;
    uint256 finalDeadline;
    bytes32 consensusValue;
    bytes32 resultDigest;
    uint256 revealCounter;
    uint256 winnerCounter;
    uint256 totalWeight;
    address[] contributors; // in contribution order
}

/// @notice A contribution as `viewContribution` returns it; `weight` is floor(log2(w)) as in PoCo.
struct ContributionView {
    ContributionStatus status;
    bytes32 resultHash;
    bytes32 resultSeal;
    uint256 weight;
}

/// @notice Everything `DealCreated` carries (one tuple keeps the event readable).
struct DealInfo {
    address app;
    address dataset;
    address workerpool;
    address requester;
    address beneficiary;
    address callback;
    address payer;
    address appOwner;
    address datasetOwner;
    address workerpoolOwner;
    uint256 appPrice;
    uint256 datasetPrice;
    uint256 workerpoolPrice;
    uint256 botFirst;
    uint256 volume;
    uint256 category;
    uint256 trust;
    bytes32 tag;
    uint256 workerStake;
    uint256 schedulerRewardRatio;
    uint256 startTime;
    uint256 workClockTimeRef;
    bytes32 paramsHash;
    string params;
}
