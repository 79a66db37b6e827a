// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

/// @title A minimal ERC-1271 contract wallet, for tests only (never deployed outside them).
/// @notice A signature is valid for the wallet when its owner key signed the hash (65-byte
/// r || s || v); the wallet holds no key of its own.
contract OwnedWallet {
    bytes4 internal constant MAGIC_VALUE = 0x1626ba7e; // isValidSignature.selector
    bytes4 internal constant INVALID = 0xffffffff;

    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    /// @notice ERC-1271: MAGIC_VALUE when `owner` signed `hash`.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (signature.length != 65) return INVALID;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        address signer = ecrecover(hash, v, r, s);
        return signer != address(0) && signer == owner ? MAGIC_VALUE : INVALID;
    }
}
