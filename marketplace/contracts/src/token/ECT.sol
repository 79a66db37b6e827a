// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title ECT, the SuperEdge Compute Token.
/// @notice ERC-20 with EIP-2612 `permit` (EIP-712 domain name "SuperEdge Compute Token",
/// version "1"), 9 decimals. The whole, fixed supply is minted to the deployer.
contract ECT is ERC20, ERC20Permit {
    /// @notice One billion ECT, in 9-decimal units (fits the Hub's 128-bit balances).
    uint256 public constant INITIAL_SUPPLY = 1_000_000_000 * 10 ** 9;

    /// @notice Mints INITIAL_SUPPLY to the deployer.
    constructor() ERC20("SuperEdge Compute Token", "ECT") ERC20Permit("SuperEdge Compute Token") {
        _mint(msg.sender, INITIAL_SUPPLY);
    }

    /// @notice Token units per ECT: 10^9.
    /// @return 9.
    function decimals() public pure override returns (uint8) {
        return 9;
    }
}
