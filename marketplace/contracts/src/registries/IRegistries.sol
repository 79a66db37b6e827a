// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

/// @title What the Hub asks of an asset registry.
interface IAssetRegistry {
    /// @notice Whether `asset` was created by this registry.
    function isRegistered(address asset) external view returns (bool);

    /// @notice Owner of `asset`, or the zero address when `asset` is not registered.
    function assetOwner(address asset) external view returns (address);
}

/// @title What the Hub asks of a workerpool.
interface IWorkerpoolPolicy {
    /// @notice Both policy ratios, in percent, in one call.
    function policy() external view returns (uint256 workerStakeRatio, uint256 schedulerRewardRatio);
}
