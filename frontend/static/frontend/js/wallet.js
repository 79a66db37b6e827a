/*
 * The browser side of the wallet: talks to window.ethereum (MetaMask) and nothing else.
 *
 * Sign-In with Ethereum (EIP-4361): the server builds the message, the wallet only signs it.
 * Hooks, as data- attributes:
 *   data-siwe-signin           on a button: sign in (or, when signed in, link the wallet)
 *     data-siwe-message-url    default /accounts/siwe/message/
 *     data-siwe-verify-url     default /accounts/siwe/verify/
 *     data-next                where to go afterwards (default: ?next= of the page, else the server's choice)
 *   data-siwe-error            the element (role=alert, hidden) that shows what went wrong;
 *                              the nearest one around the button is used.
 * Later features use window.SuperEdgeWallet = {request, signIn}.
 */
(function () {
  "use strict";

  var DEFAULT_MESSAGE_URL = "/accounts/siwe/message/";
  var DEFAULT_VERIFY_URL = "/accounts/siwe/verify/";
  var NO_WALLET = "No Ethereum wallet found: install MetaMask or sign in with email";

  function WalletError(message) {
    var error = new Error(message);
    error.name = "WalletError";
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

  /* One JSON-RPC call to the wallet; its errors become sentences a user can act on. */
  async function request(method, params) {
    if (!window.ethereum) throw WalletError(NO_WALLET);
    var args = params === undefined ? { method: method } : { method: method, params: params };
    try {
      return await window.ethereum.request(args);
    } catch (err) {
      var code = err && err.code;
      if (code === 4001) {
        throw WalletError("You declined in your wallet: click again and approve to continue.");
      }
      if (code === -32002) {
        throw WalletError("Your wallet is already waiting for an answer: open MetaMask and reply there.");
      }
      throw WalletError((err && err.message) || "Your wallet reported an error: try again.");
    }
  }

  async function postJson(url, body) {
    var response;
    try {
      response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken(),
        },
        body: JSON.stringify(body),
      });
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
      if (data && data.error) throw WalletError(data.error);
      if (response.status === 403) {
        throw WalletError("Your session expired: reload the page and try again.");
      }
      throw WalletError("SuperEdge could not answer (HTTP " + response.status + "): try again in a moment.");
    }
    return data;
  }

  function utf8Hex(text) {
    var bytes = new TextEncoder().encode(text);
    var hex = "0x";
    for (var i = 0; i < bytes.length; i++) hex += bytes[i].toString(16).padStart(2, "0");
    return hex;
  }

  /*
   * Ask the wallet for an account, have the server build the EIP-4361 message, have the wallet
   * sign it and the server verify it. Resolves to the server's {ok, address, redirect}.
   */
  async function signIn(options) {
    var opts = options || {};
    var accounts = await request("eth_requestAccounts");
    if (!accounts || !accounts.length) {
      throw WalletError("Your wallet shared no account: unlock MetaMask and try again.");
    }
    var address = accounts[0];
    var chainId = parseInt(await request("eth_chainId"), 16);
    var built = await postJson(opts.messageUrl || DEFAULT_MESSAGE_URL, {
      address: address,
      chainId: chainId,
    });
    var signature = await request("personal_sign", [utf8Hex(built.message), address]);
    var body = { message: built.message, signature: signature };
    if (opts.next) body.next = opts.next;
    return postJson(opts.verifyUrl || DEFAULT_VERIFY_URL, body);
  }

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

  /* Delegated, so buttons swapped in by htmx work too. */
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-siwe-signin]");
    if (!button) return;
    event.preventDefault();
    if (!button.disabled) onSignInClick(button);
  });

  window.SuperEdgeWallet = { request: request, signIn: signIn };
})();
