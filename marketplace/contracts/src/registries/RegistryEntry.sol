// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";

/// @title Base of the registered assets (App, Dataset, Workerpool).
/// @notice An asset is an EIP-1167 clone created and initialized by its registry in one
/// transaction; its owner is whoever holds the registry NFT whose token id is
/// uint160(asset address), so transferring the NFT transfers the asset.
abstract contract RegistryEntry {
    address private _registry;

    /// @notice The asset was already initialized (or is the implementation itself).
    error AlreadyInitialized();
    /// @notice Only the asset owner (the NFT holder) may do this.
    error NotAssetOwner(address caller, address owner);

    /// @dev The implementation contract is locked: it can never be initialized.
    constructor() {
        _registry = address(0xdead);
    }

    modifier onlyOwner() {
        address current = owner();
        if (msg.sender != current) revert NotAssetOwner(msg.sender, current);
        _;
    }

    /// @notice The registry that created this asset.
    /// @return Registry address.
    function registry() external view returns (address) {
        return _registry;
    }

    /// @notice The asset owner: the holder of the registry NFT uint160(address(this)).
    /// @return Owner address.
    function owner() public view returns (address) {
        return IERC721(_registry).ownerOf(uint256(uint160(address(this))));
    }

    /// @dev Called once by the registry, right after cloning.
    function _initializeEntry() internal {
        if (_registry != address(0)) revert AlreadyInitialized();
        _registry = msg.sender;
    }
}
