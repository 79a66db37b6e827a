// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {AssetRegistry} from "./AssetRegistry.sol";
import {Dataset} from "./Dataset.sol";

/// @title Registry of datasets (ERC-721 "SEDATA").
contract DatasetRegistry is AssetRegistry {
    /// @notice `dataset` was registered for `owner`, with every registration field.
    event DatasetRegistered(
        address indexed dataset,
        address indexed owner,
        string datasetName,
        bytes datasetMultiaddr,
        bytes32 datasetChecksum
    );

    /// @param implementation_ A deployed Dataset (never initialized) to clone.
    constructor(address implementation_)
        AssetRegistry("SuperEdge Dataset Registry", "SEDATA", implementation_)
    {}

    /// @notice Register a dataset owned by `owner` (PoCo shape).
    /// @param owner Receives the NFT, hence owns the dataset.
    /// @param datasetName Display name.
    /// @param datasetMultiaddr Location of the encrypted file.
    /// @param datasetChecksum sha256 of the encrypted file.
    /// @return dataset The new dataset's address (= predictDataset with the same arguments);
    /// events Transfer (the mint) then DatasetRegistered.
    function createDataset(
        address owner,
        string calldata datasetName,
        bytes calldata datasetMultiaddr,
        bytes32 datasetChecksum
    ) external returns (address dataset) {
        dataset = _clone(_salt(owner, datasetName, datasetMultiaddr, datasetChecksum));
        Dataset(dataset).initialize(datasetName, datasetMultiaddr, datasetChecksum);
        _register(owner, dataset);
        emit DatasetRegistered(dataset, owner, datasetName, datasetMultiaddr, datasetChecksum);
    }

    /// @notice Address createDataset gives for these arguments.
    /// @param owner Future owner.
    /// @param datasetName Display name.
    /// @param datasetMultiaddr Location.
    /// @param datasetChecksum sha256.
    /// @return The predicted address.
    function predictDataset(
        address owner,
        string calldata datasetName,
        bytes calldata datasetMultiaddr,
        bytes32 datasetChecksum
    ) external view returns (address) {
        return _predict(_salt(owner, datasetName, datasetMultiaddr, datasetChecksum));
    }

    /// @dev salt = keccak256(abi.encode(name, multiaddr, checksum, owner)).
    function _salt(address owner, string calldata datasetName, bytes calldata datasetMultiaddr, bytes32 datasetChecksum)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(datasetName, datasetMultiaddr, datasetChecksum, owner));
    }
}
