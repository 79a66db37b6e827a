/*
 * The browser side of the wallet: talks to window.ethereum (MetaMask) and to SuperEdge's JSON
 * endpoints, nothing else. The server builds every message, typed data and transaction; the
 * wallet only signs and sends them. Every failure becomes a WalletError whose message is a
 * sentence a user can act on (and whose .code, when the wallet gave one, is its EIP-1193 code).
 *
 * The chain this site runs on comes from <script type="application/json" id="chain-config">
 * (base.html): chainId, chainName, rpcUrl, hub, token, escrowApi.
 *
 * Hooks, as data- attributes (listeners are delegated, so content swapped in by htmx works):
 *   data-siwe-signin           on a button: sign in (or, when signed in, link the wallet)
 *     data-siwe-message-url    default /accounts/siwe/message/
 *     data-siwe-verify-url     default /accounts/siwe/verify/
 *     data-next                where to go afterwards (default: ?next= of the page, else the server's choice)
 *   data-siwe-error            the element (role=alert, hidden) that shows what went wrong;
 *                              the nearest one around the button is used.
 *   data-escrow                an escrow panel; data-escrow-address is its wallet. Inside it:
 *     data-escrow-wallet, data-escrow-stake, data-escrow-locked   the balances, filled in
 *     data-escrow-balances     shown once they are read; data-escrow-loading while they are;
 *     data-escrow-problem      (hidden) why they could not be read, with a data-escrow-refresh button
 *     data-escrow-deposit, data-escrow-withdraw   forms with an "amount" input (ECT)
 *     data-escrow-status       (role=status) each step; data-escrow-error (role=alert, hidden)
 *   After a deposit or a withdrawal the panel dispatches "escrow:changed" (bubbling; detail:
 *   {action, result}) for whatever else on the page shows balances; an "escrow:changed" from
 *   elsewhere (detail: {address}, the faucet's answer) has that wallet's panels read theirs again.
 *
 * window.SuperEdgeWallet: request, signIn, connect, connectAs, ensureChain, signTypedData, sendTransaction,
 * postJson, getJson, balances, deposit, withdraw, chainConfig (see each function).
 */
(function () {
  "use strict";

  var DEFAULT_MESSAGE_URL = "/accounts/siwe/message/";
  var DEFAULT_VERIFY_URL = "/accounts/siwe/verify/";
  var DEFAULT_ESCROW_API = "/api/v1/escrow/";
  var NO_WALLET = "No Ethereum wallet found: install MetaMask or sign in with email";
  var DECLINED = "You declined in your wallet: click again and approve to continue.";
  var PENDING = "Your wallet is already waiting for an answer: open MetaMask and reply there.";
  var NO_GAS =
    "Your wallet has too little ETH to pay for gas: add ETH to it (on the development chain, " +
    "the faucet on the Wallets page sends some) and try again.";
  var RECEIPT_TIMEOUT_MS = 10 * 60 * 1000;

  function WalletError(message, code) {
    var error = new Error(message);
    error.name = "WalletError";
    if (code !== undefined) error.code = code;
    return error;
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    try {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      return headers["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function shortHex(value) {
    return value && value.length > 12 ? value.slice(0, 6) + "…" + value.slice(-4) : value;
  }

  /* The chain settings of the page (#chain-config), read once. */
  var config = null;
  function chainConfig() {
    if (config) return config;
    var node = document.getElementById("chain-config");
    try {
      config = node ? JSON.parse(node.textContent) : null;
    } catch (e) {
      config = null;
    }
    if (!config || typeof config.chainId !== "number") {
      throw WalletError("This page lacks its chain settings: reload it and try again.");
    }
    return config;
  }

  function escrowApi() {
    var node = document.getElementById("chain-config");
    return (node && chainConfig().escrowApi) || DEFAULT_ESCROW_API;
  }

  /* The EIP-1193 code of a wallet error (MetaMask nests some under data.originalError). */
  function errorCode(err) {
    if (!err) return undefined;
    if (err.code !== undefined && err.code !== -32603) return err.code;
    var nested = err.data && err.data.originalError;
    if (nested && nested.code !== undefined) return nested.code;
    return err.code;
  }

  /* A wallet error as a sentence; `declined` is what to say when the user said no. */
  function sentenceFor(err, declined) {
    var code = errorCode(err);
    var message = (err && err.message) || "";
    if (code === 4001) return declined || DECLINED;
    if (code === -32002) return PENDING;
    if (code === 4100) {
      return "Your wallet has not connected this site yet: click again and allow the connection.";
    }
    if (code === 4900 || code === 4901) {
      return "Your wallet is not connected to the network: check MetaMask's network and try again.";
    }
    if (/insufficient funds/i.test(message)) return NO_GAS;
    if (/chain ?id/i.test(message) && /match|invalid/i.test(message)) {
      return "Your wallet changed network meanwhile: click again, SuperEdge will switch it back.";
    }
    return message || "Your wallet reported an error: try again.";
  }

  async function rawRequest(method, params) {
    if (!window.ethereum) throw WalletError(NO_WALLET);
    var args = params === undefined ? { method: method } : { method: method, params: params };
    return window.ethereum.request(args);
  }

  /*
   * One JSON-RPC call to the wallet. Resolves to its result; rejects with a WalletError whose
   * message says what to do (options.declined: the sentence for a refusal, code 4001).
   */
  async function request(method, params, options) {
    try {
      return await rawRequest(method, params);
    } catch (err) {
      if (err && err.name === "WalletError") throw err;
      throw WalletError(sentenceFor(err, options && options.declined), errorCode(err));
    }
  }

  async function fetchJson(url, init) {
    var response;
    try {
      response = await fetch(url, init);
    } catch (e) {
      throw WalletError("Could not reach SuperEdge: check your connection and try again.");
    }
    var data = null;
    try {
      data = await response.json();
    } catch (e) {
      /* Not JSON: a CSRF failure or a server error page. */
    }
    if (!response.ok) {
      if (data && data.error) {
        var refused = WalletError(data.error);
        if (data.field) refused.field = data.field; // the input at fault, as the API names it
        throw refused;
      }
      if (response.status === 403) {
        throw WalletError("Your session expired: reload the page and try again.");
      }
      throw WalletError("SuperEdge could not answer (HTTP " + response.status + "): try again in a moment.");
    }
    return data;
  }

  /* POST `body` as JSON with the CSRF token; resolves to the answer, rejects with its "error". */
  function postJson(url, body) {
    return fetchJson(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrfToken(),
      },
      body: JSON.stringify(body),
    });
  }

  /* GET JSON; resolves to the answer, rejects with its "error". */
  function getJson(url) {
    return fetchJson(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  }

  function utf8Hex(text) {
    var bytes = new TextEncoder().encode(text);
    var hex = "0x";
    for (var i = 0; i < bytes.length; i++) hex += bytes[i].toString(16).padStart(2, "0");
    return hex;
  }

  /* Ask the wallet for its account (eth_requestAccounts); resolves to the address. */
  async function connect() {
    var accounts = await request("eth_requestAccounts", undefined, {
      declined: "You declined to connect your wallet: click again and choose an account in MetaMask.",
    });
    if (!accounts || !accounts.length) {
      throw WalletError("Your wallet shared no account: unlock MetaMask and try again.");
    }
    return accounts[0];
  }

  /* connect(), and the account must be `expected` (when given). */
  async function connectAs(expected) {
    var address = await connect();
    if (expected && address.toLowerCase() !== expected.toLowerCase()) {
      throw WalletError(
        "Your wallet's selected account is " + shortHex(address) + ", not " + shortHex(expected) +
          ": select " + shortHex(expected) + " in MetaMask and try again."
      );
    }
    return address;
  }

  /*
   * Have the wallet on the site's chain: nothing when it is, else wallet_switchEthereumChain,
   * and wallet_addEthereumChain when the wallet does not know the chain (4902). Resolves to the
   * chain id.
   */
  async function ensureChain() {
    var cfg = chainConfig();
    var current = parseInt(await request("eth_chainId"), 16);
    if (current === cfg.chainId) return current;
    var hexId = "0x" + cfg.chainId.toString(16);
    var name = cfg.chainName + " (chain " + cfg.chainId + ")";
    try {
      await rawRequest("wallet_switchEthereumChain", [{ chainId: hexId }]);
    } catch (err) {
      var code = errorCode(err);
      if (code === 4001) {
        throw WalletError(
          "You declined to switch your wallet to " + name + ": SuperEdge's escrow is on that network, so switch to continue.",
          4001
        );
      }
      if (code !== 4902) throw WalletError(sentenceFor(err), code);
      if (!cfg.rpcUrl) {
        throw WalletError(
          "Your wallet does not know " + name + " and this site publishes no RPC address for it: add the network in MetaMask by hand, then try again."
        );
      }
      await request(
        "wallet_addEthereumChain",
        [
          {
            chainId: hexId,
            chainName: cfg.chainName,
            rpcUrls: [cfg.rpcUrl],
            nativeCurrency: cfg.nativeCurrency || { name: "Ether", symbol: "ETH", decimals: 18 },
          },
        ],
        {
          declined:
            "You declined to add " + name + " to your wallet: SuperEdge's escrow is on that network, so add it to continue.",
        }
      );
    }
    current = parseInt(await request("eth_chainId"), 16);
    if (current !== cfg.chainId) {
      throw WalletError(
        "Your wallet is still on chain " + current + ": switch MetaMask to " + name + " and try again."
      );
    }
    return current;
  }

  /* eth_signTypedData_v4 of the server's typed data; resolves to the 0x signature. */
  function signTypedData(address, typedData) {
    return request("eth_signTypedData_v4", [address, JSON.stringify(typedData)], {
      declined: "You declined the signature in your wallet: nothing was moved. Click again and sign to continue.",
    });
  }

  function sleep(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  /*
   * eth_sendTransaction of the server's transaction, then wait, asking the wallet, until it is
   * mined. Resolves to the receipt; rejects when it reverted. options.onSent(hash) is called
   * once the wallet sent it.
   */
  async function sendTransaction(tx, options) {
    var opts = options || {};
    var hash = await request("eth_sendTransaction", [tx], {
      declined: "You declined the transaction in your wallet: nothing was sent and no gas was spent.",
    });
    if (opts.onSent) opts.onSent(hash);
    var deadline = Date.now() + (opts.timeoutMs || RECEIPT_TIMEOUT_MS);
    var pause = 100;
    for (;;) {
      var receipt = await request("eth_getTransactionReceipt", [hash]);
      if (receipt) {
        if (parseInt(receipt.status, 16) === 0) {
          throw WalletError(
            "The transaction was mined but reverted: the chain changed since SuperEdge checked it (transaction " +
              shortHex(hash) + "). Only its gas was spent: refresh and try again."
          );
        }
        return receipt;
      }
      if (Date.now() > deadline) {
        throw WalletError(
          "Transaction " + shortHex(hash) + " is not mined yet: it may still be. Check MetaMask's activity before trying again."
        );
      }
      await sleep(pause);
      pause = Math.min(pause * 1.5, 2000);
    }
  }

  /*
   * Ask the wallet for an account, have the server build the EIP-4361 message, have the wallet
   * sign it and the server verify it. Resolves to the server's {ok, address, redirect}.
   */
  async function signIn(options) {
    var opts = options || {};
    var address = await connect();
    // The sign-in message names the site's chain: a wallet on another network is switched
    // (or the network added) first, as for every other flow.
    var chainId = document.getElementById("chain-config")
      ? await ensureChain()
      : parseInt(await request("eth_chainId"), 16);
    var built = await postJson(opts.messageUrl || DEFAULT_MESSAGE_URL, {
      address: address,
      chainId: chainId,
    });
    var signature = await request("personal_sign", [utf8Hex(built.message), address]);
    var body = { message: built.message, signature: signature };
    if (opts.next) body.next = opts.next;
    return postJson(opts.verifyUrl || DEFAULT_VERIFY_URL, body);
  }

  /* What `address` holds: {address, wallet, stake, locked} in ECT (decimal strings), and the
     same in base units as wallet_units, stake_units, locked_units. */
  function balances(address) {
    return getJson(escrowApi() + encodeURIComponent(address) + "/");
  }

  function noStep() {}

  /* Connect as options.address, get on the site's chain, have `build(address, amount, step)`
     fetch the server's {transaction, amount, amount_units}, send it and wait for it. */
  async function moveEscrow(amount, options, what, build) {
    var opts = options || {};
    var step = opts.onStep || noStep;
    step("Connecting to your wallet…");
    var address = await connectAs(opts.address);
    step("Checking your wallet's network…");
    await ensureChain();
    var built = await build(address, String(amount), step);
    step("Confirm the " + what + " in your wallet…");
    var receipt = await sendTransaction(built.transaction, {
      onSent: function () {
        step("Sending…");
      },
    });
    return {
      address: address,
      amount: built.amount,
      amountUnits: built.amount_units,
      transactionHash: receipt.transactionHash,
      receipt: receipt,
    };
  }

  /*
   * Deposit `amount` ECT (a decimal string) from the wallet into its Hub escrow: one permit
   * signature and one transaction. options.address: the account the wallet must use;
   * options.onStep(sentence) hears each step. Resolves to {address, amount, amountUnits,
   * transactionHash, receipt} once mined.
   */
  function deposit(amount, options) {
    return moveEscrow(amount, options, "deposit", async function (address, value, step) {
      step("Preparing the permit…");
      var permit = await postJson(escrowApi() + "deposit/permit/", {
        address: address,
        amount: value,
      });
      step("Sign the permit in your wallet…");
      var signature = await signTypedData(address, permit.typed_data);
      step("Preparing the transaction…");
      return postJson(escrowApi() + "deposit/", {
        address: address,
        amount: value,
        deadline: permit.deadline,
        signature: signature,
      });
    });
  }

  /*
   * Withdraw `amount` ECT of free escrow back to the wallet. Same options and result as
   * deposit.
   */
  function withdraw(amount, options) {
    return moveEscrow(amount, options, "withdrawal", function (address, value, step) {
      step("Preparing the transaction…");
      return postJson(escrowApi() + "withdraw/", { address: address, amount: value });
    });
  }

  /* ------------------------------------------------------------------ sign-in buttons */

  function errorBoxFor(element) {
    for (var node = element; node; node = node.parentElement) {
      var box = node.querySelector("[data-siwe-error]");
      if (box) return box;
    }
    return null;
  }

  function showError(element, text) {
    var box = errorBoxFor(element);
    if (!box) {
      window.alert(text);
      return;
    }
    box.textContent = text;
    box.hidden = false;
  }

  async function onSignInClick(button) {
    var box = errorBoxFor(button);
    if (box) {
      box.hidden = true;
      box.textContent = "";
    }
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      var result = await signIn({
        messageUrl: button.dataset.siweMessageUrl,
        verifyUrl: button.dataset.siweVerifyUrl,
        next: button.dataset.next || new URLSearchParams(window.location.search).get("next"),
      });
      window.location.assign(result.redirect || "/");
    } catch (err) {
      showError(button, err.message);
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  /* ------------------------------------------------------------------ escrow panels */

  /* "1234567.5" → "1,234,567.5 ECT" */
  function formatEct(decimal) {
    var parts = String(decimal).split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (parts[1] ? whole + "." + parts[1] : whole) + " ECT";
  }

  function part(panel, name) {
    return panel.querySelector("[data-escrow-" + name + "]");
  }

  function setText(panel, name, text) {
    var node = part(panel, name);
    if (node) node.textContent = text;
  }

  function setHidden(panel, name, hidden) {
    var node = part(panel, name);
    if (node) node.hidden = hidden;
  }

  async function refreshBalances(panel) {
    panel.setAttribute("aria-busy", "true");
    setHidden(panel, "loading", false);
    setHidden(panel, "problem", true);
    try {
      var held = await balances(panel.dataset.escrowAddress);
      setText(panel, "wallet", formatEct(held.wallet));
      setText(panel, "stake", formatEct(held.stake));
      setText(panel, "locked", formatEct(held.locked));
      setHidden(panel, "balances", false);
    } catch (err) {
      setHidden(panel, "balances", true);
      setText(panel, "problem-text", "Could not read the balances: " + err.message);
      setHidden(panel, "problem", false);
    } finally {
      setHidden(panel, "loading", true);
      panel.removeAttribute("aria-busy");
    }
  }

  function initEscrow(root) {
    if (!root || !root.querySelectorAll) return;
    var panels = Array.prototype.slice.call(root.querySelectorAll("[data-escrow]"));
    if (root.matches && root.matches("[data-escrow]")) panels.unshift(root);
    panels.forEach(function (panel) {
      if (panel.hasAttribute("data-escrow-ready")) return;
      panel.setAttribute("data-escrow-ready", "");
      refreshBalances(panel);
    });
  }

  async function onEscrowSubmit(form, action) {
    var panel = form.closest("[data-escrow]");
    var input = form.querySelector("[name=amount]");
    var amount = input ? input.value.trim() : "";
    var box = part(panel, "error");
    var buttons = panel.querySelectorAll("form button");
    box.hidden = true;
    box.textContent = "";
    if (!amount) {
      box.textContent = 'Write an amount of ECT first, such as "25" or "0.5".';
      box.hidden = false;
      return;
    }
    buttons.forEach(function (button) {
      button.disabled = true;
    });
    form.setAttribute("aria-busy", "true");
    var say = function (text) {
      setText(panel, "status", text);
    };
    try {
      var done = await (action === "deposit" ? deposit : withdraw)(amount, {
        address: panel.dataset.escrowAddress,
        onStep: say,
      });
      say((action === "deposit" ? "Deposited " : "Withdrew ") + formatEct(done.amount));
      if (input) input.value = "";
      refreshBalances(panel);
      /* Other parts of the page showing balances listen (the Wallets page's table, via htmx). */
      panel.dispatchEvent(
        new CustomEvent("escrow:changed", { bubbles: true, detail: { action: action, result: done } })
      );
    } catch (err) {
      say("");
      box.textContent = err.message;
      box.hidden = false;
    } finally {
      buttons.forEach(function (button) {
        button.disabled = false;
      });
      form.removeAttribute("aria-busy");
    }
  }

  /* ------------------------------------------------------------------ delegated listeners */

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target.closest) return;
    var button = target.closest("[data-siwe-signin]");
    if (button) {
      event.preventDefault();
      if (!button.disabled) onSignInClick(button);
      return;
    }
    var refresh = target.closest("[data-escrow-refresh]");
    if (refresh) {
      event.preventDefault();
      refreshBalances(refresh.closest("[data-escrow]"));
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var action = form.matches("[data-escrow-deposit]")
      ? "deposit"
      : form.matches("[data-escrow-withdraw]")
        ? "withdraw"
        : null;
    if (!action) return;
    event.preventDefault();
    if (form.getAttribute("aria-busy") !== "true") onEscrowSubmit(form, action);
  });

  /* ECT moved by something other than a panel (the faucet, whose answer triggers
     "escrow:changed" with detail.address): the panels of that wallet read their balances
     again, so that the page shows one balance. A panel's own move has read them already. */
  document.addEventListener("escrow:changed", function (event) {
    if (event.target.closest && event.target.closest("[data-escrow]")) return;
    var address = String((event.detail && event.detail.address) || "").toLowerCase();
    document.querySelectorAll("[data-escrow]").forEach(function (panel) {
      if (!address || panel.dataset.escrowAddress.toLowerCase() === address) refreshBalances(panel);
    });
  });

  /* Panels on the page now (the script is deferred) and those htmx swaps in later. */
  initEscrow(document);
  document.addEventListener("htmx:load", function (event) {
    initEscrow(event.detail && event.detail.elt);
  });

  window.SuperEdgeWallet = {
    request: request,
    signIn: signIn,
    connect: connect,
    connectAs: connectAs,
    ensureChain: ensureChain,
    signTypedData: signTypedData,
    sendTransaction: sendTransaction,
    postJson: postJson,
    getJson: getJson,
    balances: balances,
    deposit: deposit,
    withdraw: withdraw,
    chainConfig: chainConfig,
  };
})();
