// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {HubStorage} from "./HubStorage.sol";

/// @title Internal helpers shared by the Hub and its modules: escrow moves, signatures, delegation.
/// @dev Declares no state (see HubStorage).
abstract contract HubBase is HubStorage {
    /// @dev Deadlines in units of the category's workClockTimeRef (PoCo v5 ratios).
    uint256 internal constant CONTRIBUTION_DEADLINE_RATIO = 7;
    uint256 internal constant REVEAL_DEADLINE_RATIO = 2;
    uint256 internal constant FINAL_DEADLINE_RATIO = 10;

    /// @dev Most contributions a task takes; `contribute` refuses the next one with
    /// TooManyContributors. `finalize`, `claim` and `reopen` walk every contributor, so without a
    /// cap a scheduler authorizing thousands of (its own) workers could push them past the block
    /// gas limit and lock the payer's funds for good. Why 32: a task never needs that many.
    /// Agreeing new workers (weight 2) reach consensus for any trust up to 2^k with k of them, so
    /// 32 cover every trust up to 2^31 with new workers alone, and far more with experienced ones
    /// (weight up to score / 3 − 1); schedulers replicate a task a handful of times and replace
    /// the silent and the wrong within that margin. Cost at the cap (bench/gas.py measures it,
    /// tests bound it): finalize with 32 winners all scored for the first time about 1.3 M gas,
    /// claim with 32 stakes to unlock about 0.4 M, under 5 % of a 30 M block. It also keeps the
    /// uint16 counters of a task far from overflowing.
    uint256 internal constant MAX_CONTRIBUTORS = 32;

    modifier onlyOwner() {
        if (msg.sender != _owner) revert NotOwner(msg.sender, _owner);
        _;
    }

    /// @dev Constructors: a module, token or registry address must hold code. A call to an
    /// address without code succeeds doing nothing (a delegatecall to it returns at once), which
    /// would make the Hub accept calls and silently ignore them.
    function _requireContract(address account) internal view {
        if (account.code.length == 0) revert NotAContract(account);
    }

    // ------------------------------------------------------------------ escrow

    /// @dev Stake → locked. Every escrow helper keeps Σ stake + Σ locked + kitty unchanged
    /// except `_reward` and `_seize`, which callers always pair so that the sum is conserved.
    function _lock(address account, uint256 amount, bytes32 ref) internal {
        if (amount == 0) return;
        AccountSlot memory current = _accounts[account];
        if (current.stake < amount) revert InsufficientStake(account, current.stake, amount);
        // amount <= stake < 2^128, so the cast is exact and the subtraction cannot underflow.
        unchecked {
            _accounts[account] = AccountSlot(current.stake - uint128(amount), current.locked + uint128(amount));
        }
        emit Lock(account, amount, ref);
    }

    /// @dev Locked → stake (`unlockAmount`), then `rewardAmount` credited to the stake, in one write.
    function _unlockAndReward(address account, uint256 unlockAmount, uint256 rewardAmount, bytes32 ref) internal {
        if (unlockAmount == 0 && rewardAmount == 0) return;
        AccountSlot memory current = _accounts[account];
        _accounts[account] = AccountSlot(
            current.stake + _u128(unlockAmount + rewardAmount), current.locked - uint128(unlockAmount)
        );
        if (unlockAmount != 0) emit Unlock(account, unlockAmount, ref);
        if (rewardAmount != 0) emit Reward(account, rewardAmount, ref);
    }

    /// @dev Credit `amount` to the stake of `account` (the other side is a `_seize`).
    function _reward(address account, uint256 amount, bytes32 ref) internal {
        if (amount == 0) return;
        AccountSlot memory current = _accounts[account];
        _accounts[account] = AccountSlot(current.stake + _u128(amount), current.locked);
        emit Reward(account, amount, ref);
    }

    /// @dev Take `amount` out of the locked balance of `account` (the other side is a reward or the kitty).
    function _seize(address account, uint256 amount, bytes32 ref) internal {
        if (amount == 0) return;
        AccountSlot memory current = _accounts[account];
        _accounts[account] = AccountSlot(current.stake, current.locked - uint128(amount));
        emit Seize(account, amount, ref);
    }

    function _u128(uint256 value) internal pure returns (uint128) {
        if (value > type(uint128).max) revert ValueOverflow(value, type(uint128).max);
        return uint128(value);
    }

    // ------------------------------------------------------------------ signatures

    /// @dev Signer of `digest` for a 65-byte (r, s, v) or 64-byte EIP-2098 (r, vs) signature;
    /// zero when the signature is malformed, malleable (high s) or of another length.
    function _recover(bytes32 digest, bytes calldata sign) internal pure returns (address signer) {
        if (sign.length == 65) {
            bytes32 r;
            bytes32 s;
            uint8 v;
            assembly ("memory-safe") {
                r := calldataload(sign.offset)
                s := calldataload(add(sign.offset, 0x20))
                v := byte(0, calldataload(add(sign.offset, 0x40)))
            }
            // Some signers (hardware wallets) give v in {0, 1}.
            if (v < 27) v += 27;
            (signer,,) = ECDSA.tryRecover(digest, v, r, s);
        } else if (sign.length == 64) {
            (signer,,) = ECDSA.tryRecover(digest, bytes32(sign[0:32]), bytes32(sign[32:64]));
        }
    }

    /// @dev ECDSA first (cheap, also covers EIP-7702 accounts signing with their key), then
    /// ERC-1271 when `signer` has code.
    function _isValidSignature(address signer, bytes32 digest, bytes calldata sign) internal view returns (bool) {
        if (signer == address(0)) return false;
        if (_recover(digest, sign) == signer) return true;
        return signer.code.length != 0 && SignatureChecker.isValidERC1271SignatureNowCalldata(signer, digest, sign);
    }

    // ------------------------------------------------------------------ modules

    /// @dev Run the current call in `module`'s code on this contract's storage; never returns here.
    function _delegate(address module) internal {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, 0, calldatasize())
            let ok := delegatecall(gas(), module, ptr, calldatasize(), 0, 0)
            returndatacopy(ptr, 0, returndatasize())
            if iszero(ok) { revert(ptr, returndatasize()) }
            return(ptr, returndatasize())
        }
    }
}
