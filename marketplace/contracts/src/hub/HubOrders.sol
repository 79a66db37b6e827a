// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IAssetRegistry, IWorkerpoolPolicy} from "../registries/IRegistries.sol";
import {HubBase} from "./HubBase.sol";
import {
    AppOrder,
    AppOrderOperation,
    DatasetOrder,
    DatasetOrderOperation,
    Deal,
    DealInfo,
    EIP712Domain,
    Kind,
    OrderOperation,
    RequestOrder,
    RequestOrderOperation,
    WorkerpoolOrder,
    WorkerpoolOrderOperation
} from "./HubTypes.sol";

/// @title Hub module: EIP-712 orders, presigning/closing, and matching orders into deals.
/// @notice Runs only by delegatecall from the Hub (its storage is the Hub's); unknown selectors
/// fall through to HubAccounts. Called directly, it works on its own empty storage and is useless.
/// @dev Order digests are PoCo v5's: toTypedDataHash(domainSeparator, structHash) with the
/// struct hashes of IexecLibOrders_v5, under the domain ("SuperEdgeHub", "1", chainid, Hub).
contract HubOrders is HubBase {
    string private constant NAME = "SuperEdgeHub";
    string private constant VERSION = "1";

    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    bytes32 private constant APPORDER_TYPEHASH = keccak256(
        "AppOrder(address app,uint256 appprice,uint256 volume,bytes32 tag,address datasetrestrict,address workerpoolrestrict,address requesterrestrict,bytes32 salt)"
    );
    bytes32 private constant DATASETORDER_TYPEHASH = keccak256(
        "DatasetOrder(address dataset,uint256 datasetprice,uint256 volume,bytes32 tag,address apprestrict,address workerpoolrestrict,address requesterrestrict,bytes32 salt)"
    );
    bytes32 private constant WORKERPOOLORDER_TYPEHASH = keccak256(
        "WorkerpoolOrder(address workerpool,uint256 workerpoolprice,uint256 volume,bytes32 tag,uint256 category,uint256 trust,address apprestrict,address datasetrestrict,address requesterrestrict,bytes32 salt)"
    );
    bytes32 private constant REQUESTORDER_TYPEHASH = keccak256(
        "RequestOrder(address app,uint256 appmaxprice,address dataset,uint256 datasetmaxprice,address workerpool,uint256 workerpoolmaxprice,address requester,uint256 volume,bytes32 tag,uint256 category,uint256 trust,address beneficiary,address callback,string params,bytes32 salt)"
    );

    bytes32 private constant APPORDEROPERATION_TYPEHASH = keccak256(
        "AppOrderOperation(AppOrder order,uint256 operation)AppOrder(address app,uint256 appprice,uint256 volume,bytes32 tag,address datasetrestrict,address workerpoolrestrict,address requesterrestrict,bytes32 salt)"
    );
    bytes32 private constant DATASETORDEROPERATION_TYPEHASH = keccak256(
        "DatasetOrderOperation(DatasetOrder order,uint256 operation)DatasetOrder(address dataset,uint256 datasetprice,uint256 volume,bytes32 tag,address apprestrict,address workerpoolrestrict,address requesterrestrict,bytes32 salt)"
    );
    bytes32 private constant WORKERPOOLORDEROPERATION_TYPEHASH = keccak256(
        "WorkerpoolOrderOperation(WorkerpoolOrder order,uint256 operation)WorkerpoolOrder(address workerpool,uint256 workerpoolprice,uint256 volume,bytes32 tag,uint256 category,uint256 trust,address apprestrict,address datasetrestrict,address requesterrestrict,bytes32 salt)"
    );
    bytes32 private constant REQUESTORDEROPERATION_TYPEHASH = keccak256(
        "RequestOrderOperation(RequestOrder order,uint256 operation)RequestOrder(address app,uint256 appmaxprice,address dataset,uint256 datasetmaxprice,address workerpool,uint256 workerpoolmaxprice,address requester,uint256 volume,bytes32 tag,uint256 category,uint256 trust,address beneficiary,address callback,string params,bytes32 salt)"
    );

    /// @dev Where unknown selectors go (HubAccounts).
    address private immutable ACCOUNTS_MODULE;

    /// @dev What matching learns about the four orders (kept in memory, off the stack).
    struct Matching {
        bool hasDataset;
        address appOwner;
        address datasetOwner;
        address workerpoolOwner;
        bytes32 appDigest;
        bytes32 datasetDigest;
        bytes32 workerpoolDigest;
        bytes32 requestDigest;
        uint256 volume;
    }

    /// @param accountsModule HubAccounts, which serves the selectors this module lacks; it must
    /// hold code (NotAContract).
    constructor(address accountsModule) {
        _requireContract(accountsModule);
        ACCOUNTS_MODULE = accountsModule;
    }

    /// @notice Every function not defined here runs in HubAccounts.
    fallback() external {
        _delegate(ACCOUNTS_MODULE);
    }

    // ------------------------------------------------------------------ EIP-712

    /// @notice The orders' EIP-712 domain: ("SuperEdgeHub", "1", chain id, Hub address).
    /// @return The domain as PoCo's one struct (name, version, chainId, verifyingContract).
    function domain() external view returns (EIP712Domain memory) {
        return EIP712Domain(NAME, VERSION, block.chainid, address(this));
    }

    /// @notice EIP-5267 description of the domain (fields 0x0f: name, version, chainId,
    /// verifyingContract; no salt, no extensions).
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", NAME, VERSION, block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    /// @notice Whether `sign` is a valid signature of `digest` by `signer`: 65-byte or 64-byte
    /// (EIP-2098) ECDSA, or ERC-1271 when `signer` is a contract.
    /// @param signer Expected signer.
    /// @param digest Signed 32-byte digest (e.g. an order's EIP-712 digest).
    /// @param sign The signature.
    /// @return True when valid.
    function verifySignature(address signer, bytes32 digest, bytes calldata sign) external view returns (bool) {
        return _isValidSignature(signer, digest, sign);
    }

    /// @notice Volume consumed of an order (`volume` once closed).
    /// @param digest The order's EIP-712 digest.
    /// @return The consumed volume.
    function viewConsumed(bytes32 digest) external view returns (uint256) {
        return _consumed[digest];
    }

    /// @notice Who presigned an order on chain.
    /// @param digest The order's EIP-712 digest.
    /// @return The signer recorded by a SIGN operation, zero if none.
    function viewPresigned(bytes32 digest) external view returns (address) {
        return _presigned[digest];
    }

    // ------------------------------------------------------------------ order management

    /// @notice SIGN (0) presigns the app order on chain (events SignedAppOrder and
    /// OrderPresigned); CLOSE (1) sets its consumed volume to its volume (ClosedAppOrder). The
    /// caller must be the app owner, or `operation.sign` the owner's EIP-712 signature of the type
    /// AppOrderOperation(AppOrder order,uint256 operation)AppOrder(...), as in PoCo v5.
    /// @param operation (order, operation, sign).
    function manageAppOrder(AppOrderOperation calldata operation) external {
        AppOrder calldata order = operation.order;
        address owner = _registeredOwner(Kind.APP, _appRegistry, order.app);
        _manage(Kind.APP, owner, _hashApp(order), order.volume, operation.operation, operation.sign);
    }

    /// @notice Like manageAppOrder, for a dataset order (owner: the dataset owner; type
    /// DatasetOrderOperation(DatasetOrder order,uint256 operation)DatasetOrder(...)).
    /// @param operation (order, operation, sign).
    function manageDatasetOrder(DatasetOrderOperation calldata operation) external {
        DatasetOrder calldata order = operation.order;
        address owner = _registeredOwner(Kind.DATASET, _datasetRegistry, order.dataset);
        _manage(Kind.DATASET, owner, _hashDataset(order), order.volume, operation.operation, operation.sign);
    }

    /// @notice Like manageAppOrder, for a workerpool order (owner: the workerpool owner; type
    /// WorkerpoolOrderOperation(WorkerpoolOrder order,uint256 operation)WorkerpoolOrder(...)).
    /// @param operation (order, operation, sign).
    function manageWorkerpoolOrder(WorkerpoolOrderOperation calldata operation) external {
        WorkerpoolOrder calldata order = operation.order;
        address owner = _registeredOwner(Kind.WORKERPOOL, _workerpoolRegistry, order.workerpool);
        _manage(Kind.WORKERPOOL, owner, _hashWorkerpool(order), order.volume, operation.operation, operation.sign);
    }

    /// @notice Like manageAppOrder, for a request order (owner: its requester; type
    /// RequestOrderOperation(RequestOrder order,uint256 operation)RequestOrder(...)).
    /// @param operation (order, operation, sign).
    function manageRequestOrder(RequestOrderOperation calldata operation) external {
        RequestOrder calldata order = operation.order;
        _manage(Kind.REQUEST, order.requester, _hashRequest(order), order.volume, operation.operation, operation.sign);
    }

    // ------------------------------------------------------------------ matching

    /// @notice Match an app, a dataset (all-zero order when none), a workerpool and a request
    /// order into a deal of volume = min(remaining volumes) tasks; the requester pays. Checks, in
    /// order, each with its error: DatasetOrderNotEmpty (part of check 5, tested first: a deal
    /// without dataset takes an all-zero dataset order, whose fields would otherwise count in
    /// checks 3, 4 and 6), 1 CategoryMismatch / UnknownCategory, 2 TrustTooHigh, 3 PriceTooHigh,
    /// 4 TagNotOffered, 5 AssetMismatch, 6 RestrictionFailed, 7 AssetNotRegistered then
    /// InvalidSignature, 8 OrderExhausted. Then locks (appprice + datasetprice +
    /// workerpoolprice) × volume from the payer and workerStake × volume from the workerpool
    /// owner, with workerStake = workerpoolprice × workerStakeRatio / 100.
    /// @param apporder App order signed by the app owner.
    /// @param datasetorder Dataset order signed by the dataset owner, or all zeros (signature
    /// included) when the request has no dataset.
    /// @param workerpoolorder Workerpool order signed by the workerpool owner.
    /// @param requestorder Request order signed by the requester.
    /// @return dealid keccak256(abi.encodePacked(requestDigest, consumed[requestDigest] before)).
    function matchOrders(
        AppOrder calldata apporder,
        DatasetOrder calldata datasetorder,
        WorkerpoolOrder calldata workerpoolorder,
        RequestOrder calldata requestorder
    ) external returns (bytes32 dealid) {
        return _match(apporder, datasetorder, workerpoolorder, requestorder, requestorder.requester);
    }

    /// @notice Same as matchOrders, but the caller pays instead of the requester. As in PoCo,
    /// anyone holding the signed request can front-run with matchOrders (the requester pays).
    /// @param apporder App order.
    /// @param datasetorder Dataset order (all zeros for no dataset).
    /// @param workerpoolorder Workerpool order.
    /// @param requestorder Request order.
    /// @return dealid The new deal.
    function sponsorMatchOrders(
        AppOrder calldata apporder,
        DatasetOrder calldata datasetorder,
        WorkerpoolOrder calldata workerpoolorder,
        RequestOrder calldata requestorder
    ) external returns (bytes32 dealid) {
        return _match(apporder, datasetorder, workerpoolorder, requestorder, msg.sender);
    }

    function _match(
        AppOrder calldata a,
        DatasetOrder calldata d,
        WorkerpoolOrder calldata w,
        RequestOrder calldata r,
        address payer
    ) private returns (bytes32 dealid) {
        _checkCompatible(a, d, w, r);
        Matching memory m = _authenticate(a, d, w, r);
        m.volume = _remaining(Kind.APP, m.appDigest, a.volume);
        if (m.hasDataset) m.volume = Math.min(m.volume, _remaining(Kind.DATASET, m.datasetDigest, d.volume));
        m.volume = Math.min(m.volume, _remaining(Kind.WORKERPOOL, m.workerpoolDigest, w.volume));
        m.volume = Math.min(m.volume, _remaining(Kind.REQUEST, m.requestDigest, r.volume));
        dealid = _record(a, d, w, r, m, payer);
    }

    /// @dev Checks 1 to 6.
    function _checkCompatible(
        AppOrder calldata a,
        DatasetOrder calldata d,
        WorkerpoolOrder calldata w,
        RequestOrder calldata r
    ) private view {
        // Without a dataset nobody signs the dataset order: its tag, price or restrictions must
        // not reach the deal (anyone sending matchOrders could add tag bits otherwise).
        if (r.dataset == address(0) && d.dataset == address(0) && !_isEmpty(d)) revert DatasetOrderNotEmpty();
        if (r.category != w.category) revert CategoryMismatch(r.category, w.category);
        if (r.category >= _categories.length) revert UnknownCategory(r.category, _categories.length);
        if (r.trust > w.trust) revert TrustTooHigh(r.trust, w.trust);
        if (a.appprice > r.appmaxprice) revert PriceTooHigh(Kind.APP, a.appprice, r.appmaxprice);
        if (d.datasetprice > r.datasetmaxprice) revert PriceTooHigh(Kind.DATASET, d.datasetprice, r.datasetmaxprice);
        if (w.workerpoolprice > r.workerpoolmaxprice) {
            revert PriceTooHigh(Kind.WORKERPOOL, w.workerpoolprice, r.workerpoolmaxprice);
        }
        bytes32 missing = (a.tag | d.tag | r.tag) & ~w.tag;
        if (missing != 0) revert TagNotOffered(missing);
        if (r.app != a.app) revert AssetMismatch(Kind.APP, r.app, a.app);
        if (r.dataset != d.dataset) revert AssetMismatch(Kind.DATASET, r.dataset, d.dataset);
        _restrict(Kind.REQUEST, Kind.WORKERPOOL, r.workerpool, w.workerpool);
        _restrict(Kind.APP, Kind.DATASET, a.datasetrestrict, d.dataset);
        _restrict(Kind.APP, Kind.WORKERPOOL, a.workerpoolrestrict, w.workerpool);
        _restrict(Kind.APP, Kind.REQUEST, a.requesterrestrict, r.requester);
        _restrict(Kind.DATASET, Kind.APP, d.apprestrict, a.app);
        _restrict(Kind.DATASET, Kind.WORKERPOOL, d.workerpoolrestrict, w.workerpool);
        _restrict(Kind.DATASET, Kind.REQUEST, d.requesterrestrict, r.requester);
        _restrict(Kind.WORKERPOOL, Kind.APP, w.apprestrict, a.app);
        _restrict(Kind.WORKERPOOL, Kind.DATASET, w.datasetrestrict, d.dataset);
        _restrict(Kind.WORKERPOOL, Kind.REQUEST, w.requesterrestrict, r.requester);
    }

    /// @dev Check 7: assets registered (owners looked up), then every signature or presignature.
    function _authenticate(
        AppOrder calldata a,
        DatasetOrder calldata d,
        WorkerpoolOrder calldata w,
        RequestOrder calldata r
    ) private view returns (Matching memory m) {
        m.hasDataset = d.dataset != address(0);
        m.appOwner = _registeredOwner(Kind.APP, _appRegistry, a.app);
        if (m.hasDataset) m.datasetOwner = _registeredOwner(Kind.DATASET, _datasetRegistry, d.dataset);
        m.workerpoolOwner = _registeredOwner(Kind.WORKERPOOL, _workerpoolRegistry, w.workerpool);

        bytes32 separator = _domainSeparator();
        m.appDigest = MessageHashUtils.toTypedDataHash(separator, _hashApp(a));
        _checkSigned(Kind.APP, m.appOwner, m.appDigest, a.sign);
        if (m.hasDataset) {
            m.datasetDigest = MessageHashUtils.toTypedDataHash(separator, _hashDataset(d));
            _checkSigned(Kind.DATASET, m.datasetOwner, m.datasetDigest, d.sign);
        }
        m.workerpoolDigest = MessageHashUtils.toTypedDataHash(separator, _hashWorkerpool(w));
        _checkSigned(Kind.WORKERPOOL, m.workerpoolOwner, m.workerpoolDigest, w.sign);
        m.requestDigest = MessageHashUtils.toTypedDataHash(separator, _hashRequest(r));
        _checkSigned(Kind.REQUEST, r.requester, m.requestDigest, r.sign);
    }

    /// @dev Writes the deal, consumes the orders, locks the escrow and emits the events.
    function _record(
        AppOrder calldata a,
        DatasetOrder calldata d,
        WorkerpoolOrder calldata w,
        RequestOrder calldata r,
        Matching memory m,
        address payer
    ) private returns (bytes32 dealid) {
        uint256 volume = m.volume;
        uint256 botFirst = _consumed[m.requestDigest];
        dealid = keccak256(abi.encodePacked(m.requestDigest, botFirst));

        _consumed[m.appDigest] += volume;
        if (m.hasDataset) _consumed[m.datasetDigest] += volume;
        _consumed[m.workerpoolDigest] += volume;
        _consumed[m.requestDigest] = botFirst + volume;

        (uint256 workerStakeRatio, uint256 schedulerRewardRatio) = IWorkerpoolPolicy(w.workerpool).policy();
        if (schedulerRewardRatio > 100) revert ValueOverflow(schedulerRewardRatio, 100);
        uint256 workerStake = w.workerpoolprice * workerStakeRatio / 100;
        uint256 datasetPrice = d.datasetprice; // zero without a dataset (DatasetOrderNotEmpty)
        uint256 trust = Math.max(r.trust, 1);
        uint256 timeRef = _categories[r.category].workClockTimeRef;

        _deals[dealid] = Deal({
            workerpool: w.workerpool,
            startTime: uint40(block.timestamp),
            timeRef: uint32(timeRef), // createCategory keeps it below 2^32
            schedulerRewardRatio: uint8(schedulerRewardRatio),
            botFirst: _u96(botFirst),
            volume: _u96(volume),
            trust: _u64(trust),
            workerpoolOwner: m.workerpoolOwner,
            workerStake: _u96(workerStake),
            payer: payer,
            workerpoolPrice: _u96(w.workerpoolprice),
            appOwner: m.appOwner,
            appPrice: _u96(a.appprice),
            datasetOwner: m.datasetOwner,
            datasetPrice: _u96(datasetPrice)
        });

        _lock(payer, (a.appprice + datasetPrice + w.workerpoolprice) * volume, dealid);
        _lock(m.workerpoolOwner, workerStake * volume, dealid);

        emit SchedulerNotice(w.workerpool, dealid);
        emit OrdersMatched(dealid, m.appDigest, m.datasetDigest, m.workerpoolDigest, m.requestDigest, volume);
        emit DealCreated(
            dealid,
            r.requester,
            w.workerpool,
            DealInfo({
                app: a.app,
                dataset: d.dataset,
                workerpool: w.workerpool,
                requester: r.requester,
                beneficiary: r.beneficiary,
                callback: r.callback,
                payer: payer,
                appOwner: m.appOwner,
                datasetOwner: m.datasetOwner,
                workerpoolOwner: m.workerpoolOwner,
                appPrice: a.appprice,
                datasetPrice: datasetPrice,
                workerpoolPrice: w.workerpoolprice,
                botFirst: botFirst,
                volume: volume,
                category: r.category,
                trust: trust,
                tag: a.tag | d.tag | r.tag,
                workerStake: workerStake,
                schedulerRewardRatio: schedulerRewardRatio,
                startTime: block.timestamp,
                workClockTimeRef: timeRef,
                paramsHash: keccak256(bytes(r.params)),
                params: r.params
            })
        );
    }

    // ------------------------------------------------------------------ helpers

    /// @dev Whether every field but `dataset` (checked by the caller) is zero, signature included.
    function _isEmpty(DatasetOrder calldata d) private pure returns (bool) {
        return d.datasetprice == 0 && d.volume == 0 && d.tag == 0 && d.apprestrict == address(0)
            && d.workerpoolrestrict == address(0) && d.requesterrestrict == address(0) && d.salt == 0
            && d.sign.length == 0;
    }

    function _restrict(uint8 order, uint8 field, address allowed, address actual) private pure {
        if (allowed != address(0) && allowed != actual) revert RestrictionFailed(order, field, allowed, actual);
    }

    function _registeredOwner(uint8 kind, IAssetRegistry registry, address asset) private view returns (address owner) {
        owner = registry.assetOwner(asset);
        if (owner == address(0)) revert AssetNotRegistered(kind, asset);
    }

    function _checkSigned(uint8 kind, address signer, bytes32 digest, bytes calldata sign) private view {
        if (signer == address(0)) revert InvalidSignature(kind, digest, signer);
        if (sign.length != 0 && _isValidSignature(signer, digest, sign)) return;
        if (_presigned[digest] != signer) revert InvalidSignature(kind, digest, signer);
    }

    function _remaining(uint8 kind, bytes32 digest, uint256 volume) private view returns (uint256 left) {
        uint256 consumed = _consumed[digest];
        if (volume <= consumed) revert OrderExhausted(kind, digest);
        left = volume - consumed;
    }

    /// @dev Authorizes a manage*Order call, applies the operation and emits its event.
    function _manage(
        uint8 kind,
        address owner,
        bytes32 structHash,
        uint256 volume,
        OrderOperation operation,
        bytes calldata sign
    ) private {
        bytes32 separator = _domainSeparator();
        if (msg.sender != owner) {
            bytes32 operationHash = keccak256(abi.encode(_operationTypehash(kind), structHash, uint256(operation)));
            if (!_isValidSignature(owner, MessageHashUtils.toTypedDataHash(separator, operationHash), sign)) {
                revert UnauthorizedOperation(kind, owner, msg.sender);
            }
        }
        bytes32 digest = MessageHashUtils.toTypedDataHash(separator, structHash);
        if (operation == OrderOperation.SIGN) {
            _presigned[digest] = owner;
            if (kind == Kind.APP) emit SignedAppOrder(digest);
            else if (kind == Kind.DATASET) emit SignedDatasetOrder(digest);
            else if (kind == Kind.WORKERPOOL) emit SignedWorkerpoolOrder(digest);
            else emit SignedRequestOrder(digest);
            emit OrderPresigned(digest, owner, kind);
        } else {
            _consumed[digest] = volume;
            if (kind == Kind.APP) emit ClosedAppOrder(digest);
            else if (kind == Kind.DATASET) emit ClosedDatasetOrder(digest);
            else if (kind == Kind.WORKERPOOL) emit ClosedWorkerpoolOrder(digest);
            else emit ClosedRequestOrder(digest);
        }
    }

    function _operationTypehash(uint8 kind) private pure returns (bytes32) {
        if (kind == Kind.APP) return APPORDEROPERATION_TYPEHASH;
        if (kind == Kind.DATASET) return DATASETORDEROPERATION_TYPEHASH;
        if (kind == Kind.WORKERPOOL) return WORKERPOOLORDEROPERATION_TYPEHASH;
        return REQUESTORDEROPERATION_TYPEHASH;
    }

    function _domainSeparator() private view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256(bytes(NAME)), keccak256(bytes(VERSION)), block.chainid, address(this))
        );
    }

    function _hashApp(AppOrder calldata o) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                APPORDER_TYPEHASH,
                o.app,
                o.appprice,
                o.volume,
                o.tag,
                o.datasetrestrict,
                o.workerpoolrestrict,
                o.requesterrestrict,
                o.salt
            )
        );
    }

    function _hashDataset(DatasetOrder calldata o) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                DATASETORDER_TYPEHASH,
                o.dataset,
                o.datasetprice,
                o.volume,
                o.tag,
                o.apprestrict,
                o.workerpoolrestrict,
                o.requesterrestrict,
                o.salt
            )
        );
    }

    function _hashWorkerpool(WorkerpoolOrder calldata o) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                WORKERPOOLORDER_TYPEHASH,
                o.workerpool,
                o.workerpoolprice,
                o.volume,
                o.tag,
                o.category,
                o.trust,
                o.apprestrict,
                o.datasetrestrict,
                o.requesterrestrict,
                o.salt
            )
        );
    }

    function _hashRequest(RequestOrder calldata o) private pure returns (bytes32) {
        return keccak256(
            bytes.concat(
                abi.encode(
                    REQUESTORDER_TYPEHASH,
                    o.app,
                    o.appmaxprice,
                    o.dataset,
                    o.datasetmaxprice,
                    o.workerpool,
                    o.workerpoolmaxprice,
                    o.requester
                ),
                abi.encode(
                    o.volume,
                    o.tag,
                    o.category,
                    o.trust,
                    o.beneficiary,
                    o.callback,
                    keccak256(bytes(o.params)),
                    o.salt
                )
            )
        );
    }

    function _u96(uint256 value) private pure returns (uint96) {
        if (value > type(uint96).max) revert ValueOverflow(value, type(uint96).max);
        return uint96(value);
    }

    function _u64(uint256 value) private pure returns (uint64) {
        if (value > type(uint64).max) revert ValueOverflow(value, type(uint64).max);
        return uint64(value);
    }
}
