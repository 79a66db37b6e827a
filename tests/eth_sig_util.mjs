// What MetaMask computes for eth_signTypedData_v4, for the Python tests to compare against.
// stdin: a JSON list of {data, privateKey}; stdout: a JSON list of {digest, signature}.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

// Resolve packages from the repository's node_modules, wherever node runs from.
const require = createRequire(new URL("../package.json", import.meta.url));
const { SignTypedDataVersion, TypedDataUtils, signTypedData } = require("@metamask/eth-sig-util");

const cases = JSON.parse(readFileSync(0, "utf8"));
const results = cases.map(({ data, privateKey }) => ({
  digest: "0x" + Buffer.from(TypedDataUtils.eip712Hash(data, SignTypedDataVersion.V4)).toString("hex"),
  signature: signTypedData({
    privateKey: Buffer.from(privateKey.replace(/^0x/, ""), "hex"),
    data,
    version: SignTypedDataVersion.V4,
  }),
}));
process.stdout.write(JSON.stringify(results));
