// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {IAssetRegistry} from "./IRegistries.sol";

/// @title Shared base of the App, Dataset and Workerpool registries.
/// @notice Each registration clones the registry's implementation (EIP-1167) with CREATE2 at an
/// address predictable from the registration arguments and the owner, initializes it, and mints
/// the NFT with token id uint160(asset) to the owner. The same arguments for the same owner
/// cannot be registered twice. Anyone may register an asset for any owner (as in PoCo).
abstract contract AssetRegistry is ERC721, IAssetRegistry {
    /// @notice The contract every asset of this registry is a clone of.
    address public immutable implementation;

    /// @notice These arguments were already registered for this owner, at `asset`.
    error AlreadyRegistered(address asset);
    /// @notice `addr` holds no code: the implementation must be a deployed contract.
    error NotAContract(address addr);

    /// @param name_ ERC-721 collection name.
    /// @param symbol_ ERC-721 symbol.
    /// @param implementation_ A deployed, never initialized asset contract to clone. It must hold
    /// code: clones of an address without code would accept every call and do nothing.
    constructor(string memory name_, string memory symbol_, address implementation_) ERC721(name_, symbol_) {
        if (implementation_.code.length == 0) revert NotAContract(implementation_);
        implementation = implementation_;
    }

    /// @notice Whether `asset` was registered here.
    /// @param asset Asset address.
    /// @return True when registered.
    function isRegistered(address asset) external view returns (bool) {
        return _ownerOf(uint256(uint160(asset))) != address(0);
    }

    /// @notice Owner of `asset`, zero when it is not registered here (never reverts).
    /// @param asset Asset address.
    /// @return Owner address or zero.
    function assetOwner(address asset) external view returns (address) {
        return _ownerOf(uint256(uint160(asset)));
    }

    /// @dev Address the clone for `salt` has (or will have).
    function _predict(bytes32 salt) internal view returns (address) {
        return Clones.predictDeterministicAddress(implementation, salt);
    }

    /// @dev Clone the implementation for `salt`; the caller initializes it, then calls `_register`.
    function _clone(bytes32 salt) internal returns (address asset) {
        asset = _predict(salt);
        if (_ownerOf(uint256(uint160(asset))) != address(0)) revert AlreadyRegistered(asset);
        Clones.cloneDeterministic(implementation, salt);
    }

    /// @dev Mint the asset's NFT to its owner (emits Transfer from zero: the registration event).
    function _register(address owner, address asset) internal {
        _mint(owner, uint256(uint160(asset)));
    }
}
