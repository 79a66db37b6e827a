/*
 * A standing request in the browser: the wallet signs the request the server built (and
 * deposits first what the escrow lacks), then it is published into the book through the
 * standing requests' API, and the browser opens its page, which waits for an offer.
 *
 * Hooks:
 *   data-standing-sign   the panel (data-publish-url; data-signing: the id of the JSON data
 *                        block the server wrote: typed_data, requirements, preferences,
 *                        expires_at, deposit_needed in ECT), with a data-standing-sign-button,
 *                        [data-standing-status] (role=status) and [data-standing-error]
 *                        (role=alert).
 */
(function () {
  "use strict";

  function wallet() {
    if (!window.SuperEdgeWallet) throw new Error("The wallet module did not load: reload the page.");
    return window.SuperEdgeWallet;
  }

  function say(panel, text) {
    panel.querySelector("[data-standing-status]").textContent = text;
  }

  function fail(panel, text) {
    say(panel, "");
    var box = panel.querySelector("[data-standing-error]");
    box.textContent = text;
    box.hidden = false;
  }

  function signing(panel) {
    var block = document.getElementById(panel.getAttribute("data-signing"));
    return JSON.parse(block.textContent);
  }

  async function signAndPublish(panel) {
    var w = wallet();
    var data = signing(panel);
    var requester = data.typed_data.message.requester;
    panel.querySelector("[data-standing-error]").hidden = true;
    say(panel, "Connecting to your wallet…");
    await w.connectAs(requester);
    await w.ensureChain();
    if (data.deposit_needed !== "0") {
      await w.deposit(data.deposit_needed, {
        address: requester,
        onStep: function (text) {
          say(panel, text);
        },
      });
      // In the escrow now: a later refusal must not deposit it again.
      data.deposit_needed = "0";
      document.getElementById(panel.getAttribute("data-signing")).textContent = JSON.stringify(data);
    }
    say(panel, "Sign the request in your wallet (no gas)…");
    var signature = await w.signTypedData(requester, data.typed_data);
    say(panel, "Publishing…");
    var published = await w.postJson(panel.getAttribute("data-publish-url"), {
      request: data.typed_data.message,
      signature: signature,
      requirements: data.requirements,
      preferences: data.preferences,
      expires_at: data.expires_at,
    });
    say(panel, "Published: it waits for an offer.");
    window.location.assign(published.url);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-standing-sign-button]");
    if (!button || button.disabled) return;
    event.preventDefault();
    var panel = button.closest("[data-standing-sign]");
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    signAndPublish(panel)
      .catch(function (err) {
        fail(panel, (err && err.message) || String(err));
      })
      .finally(function () {
        button.disabled = false;
        button.removeAttribute("aria-busy");
      });
  });
})();
