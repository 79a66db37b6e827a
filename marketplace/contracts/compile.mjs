#!/usr/bin/env node
// Compile marketplace/contracts/src/**/*.sol with solcjs (the pinned npm `solc`, never a
// downloaded compiler) into marketplace/contracts/build.json.
//
//   node marketplace/contracts/compile.mjs          write build.json
//   node marketplace/contracts/compile.mjs --check  recompile in memory; exit 1 if build.json differs
//
// build.json: {"solc", "openzeppelin", "sourcesDigest", "contracts": {Name: {abi, bytecode,
// deployedBytecodeSize}}}. The "Hub" entry's ABI is the union of Hub, HubOrders and HubAccounts
// (everything reachable at the Hub address) and must match the IHub interface; no two of their
// functions (nor two different errors) may share a 4-byte selector.
//
// Imported as a module (tests), it only exports `selectorClashes`; it compiles when run.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
// solcjs' own keccak256 (js-sha3, pinned by solc's package and package-lock.json).
const { keccak256 } = createRequire(require.resolve('solc'))('js-sha3');

const CONTRACTS_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(CONTRACTS_DIR, '..', '..');
const SRC_DIR = path.join(CONTRACTS_DIR, 'src');
const BUILD_PATH = path.join(CONTRACTS_DIR, 'build.json');
const NODE_MODULES = path.join(REPO_ROOT, 'node_modules');

// Contracts deployed by marketplace/chain/deploy.py, in build.json.
const DEPLOYABLE = [
  'ECT',
  'Hub',
  'HubOrders',
  'HubAccounts',
  'AppRegistry',
  'DatasetRegistry',
  'WorkerpoolRegistry',
  'App',
  'Dataset',
  'Workerpool',
];
// Modules whose functions, events and errors are reachable at the Hub address.
const HUB_MODULES = ['HubOrders', 'HubAccounts'];
const EIP170_LIMIT = 24576;

// viaIR: the matching code needs it (stack depth) and it gives the leanest hot paths.
const SETTINGS = {
  optimizer: { enabled: true, runs: 1000 },
  viaIR: true,
  evmVersion: 'cancun',
  // No metadata trailer: the bytecode depends on the code alone, not on comments or paths.
  metadata: { appendCBOR: false },
};

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function toPosix(p) {
  return p.split(path.sep).join('/');
}

function solidityFiles(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...solidityFiles(full));
    else if (entry.isFile() && entry.name.endsWith('.sol')) found.push(full);
  }
  return found;
}

function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

// Repo-relative POSIX paths of the sources, sorted (code-point order, like Python's sorted()).
function sourcePaths() {
  return solidityFiles(SRC_DIR)
    .map((file) => toPosix(path.relative(REPO_ROOT, file)))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

// sha256 over "<relpath>\n<sha256 of bytes>\n" for every source and this script (sorted by
// path), then "solc <version>\nopenzeppelin <version>\n" from package.json. The Python side
// (marketplace/chain/artifacts.py) recomputes it exactly.
function sourcesDigest(packageJson) {
  const files = [...sourcePaths(), toPosix(path.relative(REPO_ROOT, fileURLToPath(import.meta.url)))];
  files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let text = '';
  for (const rel of files) text += `${rel}\n${sha256(readFileSync(path.join(REPO_ROOT, rel)))}\n`;
  const deps = packageJson.devDependencies;
  text += `solc ${deps.solc}\nopenzeppelin ${deps['@openzeppelin/contracts']}\n`;
  return sha256(Buffer.from(text, 'utf8'));
}

// Imports other than the sources themselves: OpenZeppelin from node_modules, nothing else.
function findImports(importPath) {
  if (!importPath.startsWith('@openzeppelin/contracts/')) {
    return { error: `import not found: ${importPath} (only @openzeppelin/contracts/ and relative imports)` };
  }
  const file = path.join(NODE_MODULES, ...importPath.split('/'));
  if (!existsSync(file)) return { error: `import not found: ${importPath} (looked in ${file})` };
  return { contents: readFileSync(file, 'utf8') };
}

function canonicalType(param) {
  if (!param.type.startsWith('tuple')) return param.type;
  return `(${param.components.map(canonicalType).join(',')})${param.type.slice('tuple'.length)}`;
}

// "name(type,...)", what the 4-byte selector of a function or an error hashes.
function canonicalSignature(item) {
  return `${item.name}(${(item.inputs ?? []).map(canonicalType).join(',')})`;
}

function selector(item) {
  return `0x${keccak256(canonicalSignature(item)).slice(0, 8)}`;
}

// Clashes of 4-byte selectors among `abis` ({contract name: ABI}, in the order calls fall
// through: Hub, HubOrders, HubAccounts). The Hub serves a selector of its own before it
// delegates, HubOrders before HubAccounts: a later function with the selector of an earlier one
// (same signature or not) is silently unreachable, so any two functions sharing a selector
// clash. Errors are declared once and inherited by all three: the same error everywhere is
// fine, two different errors with one selector clash (a revert would decode as the wrong one).
// Returns one message per clash, [] when there is none.
export function selectorClashes(abis) {
  const seen = new Map();
  const clashes = [];
  for (const [contract, abi] of Object.entries(abis)) {
    for (const item of abi) {
      if (item.type !== 'function' && item.type !== 'error') continue;
      const key = `${item.type} ${selector(item)}`;
      const here = { contract, signature: canonicalSignature(item) };
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, here);
      } else if (item.type === 'function' || first.signature !== here.signature) {
        clashes.push(`${key}: ${first.contract}.${first.signature} and ${contract}.${here.signature}`);
      }
    }
  }
  return clashes;
}

function signature(item) {
  const inputs = (item.inputs ?? []).map(canonicalType).join(',');
  if (item.type !== 'function') return `${item.type} ${item.name ?? ''}(${inputs})`;
  const outputs = (item.outputs ?? []).map(canonicalType).join(',');
  return `function ${item.name}(${inputs}) ${item.stateMutability} returns (${outputs})`;
}

const TYPE_ORDER = ['constructor', 'fallback', 'receive', 'function', 'event', 'error'];

function sortAbi(abi) {
  return [...abi].sort((a, b) => {
    const byType = TYPE_ORDER.indexOf(a.type) - TYPE_ORDER.indexOf(b.type);
    if (byType !== 0) return byType;
    const sa = signature(a);
    const sb = signature(b);
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  });
}

// Union of the Hub's ABI and its modules' functions, events and errors (deduplicated), once
// no selector clashes among them.
function mergeHubAbi(contracts) {
  const abis = Object.fromEntries(['Hub', ...HUB_MODULES].map((name) => [name, contracts[name].abi]));
  const clashes = selectorClashes(abis);
  if (clashes.length) fail(`selector clash at the Hub address:\n  ${clashes.join('\n  ')}`);
  const merged = new Map();
  for (const item of contracts.Hub.abi) merged.set(signature(item), item); // constructor included
  for (const name of HUB_MODULES) {
    for (const item of contracts[name].abi) {
      if (['function', 'event', 'error'].includes(item.type)) merged.set(signature(item), item);
    }
  }
  return sortAbi([...merged.values()]);
}

// IHub must list exactly the Hub's functions and events, and every error it declares must exist.
function checkAgainstInterface(hubAbi, interfaceAbi) {
  const hub = new Set(hubAbi.map(signature));
  const declared = new Set(interfaceAbi.map(signature));
  const problems = [];
  for (const key of declared) if (!hub.has(key)) problems.push(`IHub declares ${key}, not reachable at the Hub`);
  for (const item of hubAbi) {
    if (!['function', 'event'].includes(item.type)) continue;
    const key = signature(item);
    if (!declared.has(key)) problems.push(`the Hub exposes ${key}, missing from IHub`);
  }
  if (problems.length) fail(`Hub ABI and IHub disagree:\n  ${problems.join('\n  ')}`);
}

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys(value[key])]),
    );
  }
  return value;
}

function compile(solc) {
  const packageJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
  const ozVersion = JSON.parse(
    readFileSync(path.join(NODE_MODULES, '@openzeppelin', 'contracts', 'package.json'), 'utf8'),
  ).version;
  if (ozVersion !== packageJson.devDependencies['@openzeppelin/contracts']) {
    fail(`node_modules has OpenZeppelin ${ozVersion}, package.json pins ` +
      `${packageJson.devDependencies['@openzeppelin/contracts']}: run npm install`);
  }

  const sources = {};
  const outputSelection = {};
  for (const rel of sourcePaths()) {
    sources[rel] = { content: readFileSync(path.join(REPO_ROOT, rel), 'utf8') };
    outputSelection[rel] = { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] };
  }
  const input = { language: 'Solidity', sources, settings: { ...SETTINGS, outputSelection } };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));

  const diagnostics = output.errors ?? [];
  const errors = diagnostics.filter((d) => d.severity === 'error');
  for (const d of diagnostics.filter((d) => d.severity !== 'error')) process.stderr.write(d.formattedMessage);
  if (errors.length) fail(`solc ${solc.version()} failed:\n${errors.map((d) => d.formattedMessage).join('\n')}`);

  const compiled = {};
  for (const [file, contracts] of Object.entries(output.contracts ?? {})) {
    for (const [name, contract] of Object.entries(contracts)) {
      if (compiled[name]) fail(`two contracts named ${name} (${compiled[name].file} and ${file})`);
      compiled[name] = { file, ...contract };
    }
  }
  const missing = [...DEPLOYABLE, 'IHub'].filter((name) => !compiled[name]);
  if (missing.length) fail(`contracts not found in the sources: ${missing.join(', ')}`);

  const artifacts = {};
  for (const name of DEPLOYABLE) {
    const { abi, evm } = compiled[name];
    const size = evm.deployedBytecode.object.length / 2;
    if (size > EIP170_LIMIT) fail(`${name} is ${size} bytes of runtime code, above EIP-170's ${EIP170_LIMIT}`);
    artifacts[name] = { abi: sortAbi(abi), bytecode: `0x${evm.bytecode.object}`, deployedBytecodeSize: size };
  }
  artifacts.Hub.abi = mergeHubAbi(artifacts);
  checkAgainstInterface(artifacts.Hub.abi, compiled.IHub.abi);

  const build = {
    solc: solc.version(),
    openzeppelin: ozVersion,
    sourcesDigest: sourcesDigest(packageJson),
    contracts: sortKeys(artifacts),
  };
  return `${JSON.stringify(build, null, 2)}\n`;
}

function main() {
  const solc = require('solc');
  const check = process.argv.includes('--check');
  const text = compile(solc);
  if (check) {
    const current = existsSync(BUILD_PATH) ? readFileSync(BUILD_PATH, 'utf8') : null;
    if (current !== text) fail('build.json is stale: run make contracts');
    process.stdout.write('build.json is up to date\n');
  } else {
    writeFileSync(BUILD_PATH, text);
    const sizes = Object.entries(JSON.parse(text).contracts)
      .map(([name, c]) => `  ${name.padEnd(20)} ${String(c.deployedBytecodeSize).padStart(6)} bytes`)
      .join('\n');
    process.stdout.write(`wrote ${toPosix(path.relative(REPO_ROOT, BUILD_PATH))} (solc ${solc.version()})\n${sizes}\n`);
  }
}

// Run as a script (real paths: a symlinked invocation must compile too, not exit 0 unchecked).
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) main();
