// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {AssetRegistry} from "./AssetRegistry.sol";
import {Workerpool} from "./Workerpool.sol";

/// @title Registry of worker pools (ERC-721 "SEPOOL").
contract WorkerpoolRegistry is AssetRegistry {
    /// @notice `workerpool` was registered for `owner` with `description` and its initial
    /// policy (percents; later changes are the pool's PolicyUpdate events).
    event WorkerpoolRegistered(
        address indexed workerpool,
        address indexed owner,
        string description,
        uint256 workerStakeRatio,
        uint256 schedulerRewardRatio
    );

    /// @param implementation_ A deployed Workerpool (never initialized) to clone.
    constructor(address implementation_)
        AssetRegistry("SuperEdge Workerpool Registry", "SEPOOL", implementation_)
    {}

    /// @notice Register a worker pool owned by `owner` (PoCo shape); default policy: worker
    /// stake 30 %, scheduler reward 1 %.
    /// @param owner Receives the NFT, hence owns the pool (and is its scheduler).
    /// @param description Free-text description.
    /// @return workerpool The new pool's address (= predictWorkerpool with the same arguments);
    /// events PolicyUpdate (from the pool, old values zero), Transfer (the mint) then
    /// WorkerpoolRegistered.
    function createWorkerpool(address owner, string calldata description) external returns (address workerpool) {
        workerpool = _clone(_salt(owner, description));
        Workerpool(workerpool).initialize(description);
        _register(owner, workerpool);
        (uint256 workerStakeRatio, uint256 schedulerRewardRatio) = Workerpool(workerpool).policy();
        emit WorkerpoolRegistered(workerpool, owner, description, workerStakeRatio, schedulerRewardRatio);
    }

    /// @notice Address createWorkerpool gives for these arguments.
    /// @param owner Future owner.
    /// @param description Description.
    /// @return The predicted address.
    function predictWorkerpool(address owner, string calldata description) external view returns (address) {
        return _predict(_salt(owner, description));
    }

    /// @dev salt = keccak256(abi.encode(description, owner)).
    function _salt(address owner, string calldata description) private pure returns (bytes32) {
        return keccak256(abi.encode(description, owner));
    }
}
