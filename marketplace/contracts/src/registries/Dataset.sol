// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {RegistryEntry} from "./RegistryEntry.sol";

/// @title A registered dataset (an encrypted file), PoCo v5 accessors.
contract Dataset is RegistryEntry {
    /// @notice Display name.
    string public m_datasetName;
    /// @notice Where the encrypted file is (e.g. a URL, as bytes).
    bytes public m_datasetMultiaddr;
    /// @notice sha256 of the encrypted file.
    bytes32 public m_datasetChecksum;

    /// @notice Set the dataset's data; called once by the DatasetRegistry when it creates the clone.
    /// @param datasetName Display name.
    /// @param datasetMultiaddr Location of the encrypted file.
    /// @param datasetChecksum sha256 of the encrypted file.
    function initialize(string calldata datasetName, bytes calldata datasetMultiaddr, bytes32 datasetChecksum)
        external
    {
        _initializeEntry();
        m_datasetName = datasetName;
        m_datasetMultiaddr = datasetMultiaddr;
        m_datasetChecksum = datasetChecksum;
    }
}
