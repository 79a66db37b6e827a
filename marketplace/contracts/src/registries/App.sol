// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {RegistryEntry} from "./RegistryEntry.sol";

/// @title A registered application (a WebAssembly program), PoCo v5 accessors.
contract App is RegistryEntry {
    /// @notice Display name.
    string public m_appName;
    /// @notice Application type, "WASM".
    string public m_appType;
    /// @notice Where the .wasm file is (e.g. a URL, as bytes).
    bytes public m_appMultiaddr;
    /// @notice sha256 of the .wasm file.
    bytes32 public m_appChecksum;
    /// @notice TEE enclave measurement; empty (no TEE).
    bytes public m_appMREnclave;

    /// @notice Set the app's data; called once by the AppRegistry when it creates the clone.
    /// @param appName Display name.
    /// @param appType Application type.
    /// @param appMultiaddr Location of the program.
    /// @param appChecksum sha256 of the program.
    /// @param appMREnclave Enclave measurement (empty).
    function initialize(
        string calldata appName,
        string calldata appType,
        bytes calldata appMultiaddr,
        bytes32 appChecksum,
        bytes calldata appMREnclave
    ) external {
        _initializeEntry();
        m_appName = appName;
        m_appType = appType;
        m_appMultiaddr = appMultiaddr;
        m_appChecksum = appChecksum;
        m_appMREnclave = appMREnclave;
    }
}
