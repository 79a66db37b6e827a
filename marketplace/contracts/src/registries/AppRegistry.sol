// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {App} from "./App.sol";
import {AssetRegistry} from "./AssetRegistry.sol";

/// @title Registry of applications (ERC-721 "SEAPP").
contract AppRegistry is AssetRegistry {
    /// @notice `app` was registered for `owner`, with every registration field (so that an
    /// indexer never reads them back from the app).
    event AppRegistered(
        address indexed app,
        address indexed owner,
        string appName,
        string appType,
        bytes appMultiaddr,
        bytes32 appChecksum,
        bytes appMREnclave
    );

    /// @param implementation_ A deployed App (never initialized) to clone.
    constructor(address implementation_) AssetRegistry("SuperEdge App Registry", "SEAPP", implementation_) {}

    /// @notice Register an app owned by `owner` (PoCo shape).
    /// @param owner Receives the NFT, hence owns the app.
    /// @param appName Display name.
    /// @param appType "WASM".
    /// @param appMultiaddr Location of the .wasm file.
    /// @param appChecksum sha256 of the .wasm file.
    /// @param appMREnclave Empty (no TEE).
    /// @return app The new app's address (= predictApp with the same arguments); events
    /// Transfer (the mint) then AppRegistered.
    function createApp(
        address owner,
        string calldata appName,
        string calldata appType,
        bytes calldata appMultiaddr,
        bytes32 appChecksum,
        bytes calldata appMREnclave
    ) external returns (address app) {
        app = _clone(_salt(owner, appName, appType, appMultiaddr, appChecksum, appMREnclave));
        App(app).initialize(appName, appType, appMultiaddr, appChecksum, appMREnclave);
        _register(owner, app);
        emit AppRegistered(app, owner, appName, appType, appMultiaddr, appChecksum, appMREnclave);
    }

    /// @notice Address createApp gives for these arguments.
    /// @param owner Future owner.
    /// @param appName Display name.
    /// @param appType Application type.
    /// @param appMultiaddr Location.
    /// @param appChecksum sha256.
    /// @param appMREnclave Enclave measurement.
    /// @return The predicted address.
    function predictApp(
        address owner,
        string calldata appName,
        string calldata appType,
        bytes calldata appMultiaddr,
        bytes32 appChecksum,
        bytes calldata appMREnclave
    ) external view returns (address) {
        return _predict(_salt(owner, appName, appType, appMultiaddr, appChecksum, appMREnclave));
    }

    /// @dev salt = keccak256(abi.encode(name, type, multiaddr, checksum, mrenclave, owner)).
    function _salt(
        address owner,
        string calldata appName,
        string calldata appType,
        bytes calldata appMultiaddr,
        bytes32 appChecksum,
        bytes calldata appMREnclave
    ) private pure returns (bytes32) {
        return keccak256(abi.encode(appName, appType, appMultiaddr, appChecksum, appMREnclave, owner));
    }
}
