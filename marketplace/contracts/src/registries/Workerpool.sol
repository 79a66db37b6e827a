// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {IWorkerpoolPolicy} from "./IRegistries.sol";
import {RegistryEntry} from "./RegistryEntry.sol";

/// @title A registered worker pool (a scheduler and its workers), PoCo v5 accessors.
/// @notice The Hub reads the policy when orders are matched; a change applies to later deals.
contract Workerpool is RegistryEntry, IWorkerpoolPolicy {
    /// @notice Free-text description.
    string public m_workerpoolDescription;
    uint128 private _workerStakeRatio;
    uint128 private _schedulerRewardRatio;

    /// @notice The policy changed (PoCo event): set by `initialize` (old values zero), then by
    /// the owner's changePolicy.
    event PolicyUpdate(
        uint256 oldWorkerStakeRatioPolicy,
        uint256 newWorkerStakeRatioPolicy,
        uint256 oldSchedulerRewardRatioPolicy,
        uint256 newSchedulerRewardRatioPolicy
    );

    /// @notice schedulerRewardRatio must be at most 100 (percent); workerStakeRatio below 2^128.
    error InvalidPolicy(uint256 workerStakeRatio, uint256 schedulerRewardRatio);

    /// @dev The policy of a new pool, in percent.
    uint256 private constant DEFAULT_WORKER_STAKE_RATIO = 30;
    uint256 private constant DEFAULT_SCHEDULER_REWARD_RATIO = 1;

    /// @notice Set the description and the default policy (stake 30 %, scheduler 1 %), emitting
    /// PolicyUpdate from zeros; called once by the WorkerpoolRegistry when it creates the clone.
    /// @param description Free-text description.
    function initialize(string calldata description) external {
        _initializeEntry();
        m_workerpoolDescription = description;
        _workerStakeRatio = uint128(DEFAULT_WORKER_STAKE_RATIO);
        _schedulerRewardRatio = uint128(DEFAULT_SCHEDULER_REWARD_RATIO);
        emit PolicyUpdate(0, DEFAULT_WORKER_STAKE_RATIO, 0, DEFAULT_SCHEDULER_REWARD_RATIO);
    }

    /// @notice Percent of the workerpool price a worker stakes per contribution (and the pool
    /// owner per task).
    /// @return The ratio in percent.
    function m_workerStakeRatioPolicy() external view returns (uint256) {
        return _workerStakeRatio;
    }

    /// @notice Percent of the workers' reward kept by the scheduler.
    /// @return The ratio in percent.
    function m_schedulerRewardRatioPolicy() external view returns (uint256) {
        return _schedulerRewardRatio;
    }

    /// @notice Both ratios in one call (what the Hub reads at match time).
    /// @return workerStakeRatio Percent.
    /// @return schedulerRewardRatio Percent.
    function policy() external view returns (uint256 workerStakeRatio, uint256 schedulerRewardRatio) {
        return (_workerStakeRatio, _schedulerRewardRatio);
    }

    /// @notice Change the policy; only the pool owner. Emits PolicyUpdate with old and new values.
    /// @param newWorkerStakeRatioPolicy Percent of the price staked per contribution.
    /// @param newSchedulerRewardRatioPolicy Percent kept by the scheduler, at most 100.
    function changePolicy(uint256 newWorkerStakeRatioPolicy, uint256 newSchedulerRewardRatioPolicy)
        external
        onlyOwner
    {
        if (newSchedulerRewardRatioPolicy > 100 || newWorkerStakeRatioPolicy > type(uint128).max) {
            revert InvalidPolicy(newWorkerStakeRatioPolicy, newSchedulerRewardRatioPolicy);
        }
        emit PolicyUpdate(
            _workerStakeRatio, newWorkerStakeRatioPolicy, _schedulerRewardRatio, newSchedulerRewardRatioPolicy
        );
        _workerStakeRatio = uint128(newWorkerStakeRatioPolicy);
        _schedulerRewardRatio = uint128(newSchedulerRewardRatioPolicy);
    }
}
