/*
 * Trading in the browser: register a listing on chain, sign and publish sell orders, take one
 * off the book (and close it on chain), and buy runs of an app. Everything that talks to the
 * wallet goes through window.SuperEdgeWallet (wallet.js); the server builds every typed data
 * and transaction, and says in words what is wrong.
 *
 * Hooks (data- attributes, delegated so that htmx-swapped panels work):
 *   data-trade-register  (data-register-url, data-registered-url, data-wallet) with a
 *                        data-trade-register-button
 *   data-trade-sell      a form (action: the sell URL; data-wallet: the owner's wallet)
 *   data-trade-unpublish="<digest>" buttons, data-trade-unpublished box with data-trade-close
 *   data-trade-buy       the buy form (data-app, data-quote-url, data-match-url, data-inputs-url),
 *                        and its data-trade-quote-panel; htmx asks its market panel
 *                        (data-market-panel) again as it changes
 *   data-market-suggestion (data-field, data-value) a link of the market panel: here it sets
 *                        that field of the buy form instead of opening the page again
 *   data-offers-live     a visitor's offers panel, which htmx reads again (hx-trigger): not
 *                        while its tab is hidden
 * Each tool shows its steps in [data-trade-status] (role=status) and its errors in
 * [data-trade-error] (role=alert). Registering, publishing and unpublishing fire
 * "listing:changed" (bubbling) for the parts of the page that show the chain and the book.
 */
(function () {
  "use strict";

  var ORDERS_API = "/api/v1/orders/";

  function wallet() {
    if (!window.SuperEdgeWallet) throw new Error("The wallet module did not load: reload the page.");
    return window.SuperEdgeWallet;
  }

  function find(root, selector) {
    return root.querySelector(selector);
  }

  function say(root, text) {
    var box = find(root, "[data-trade-status]");
    if (box) box.textContent = text;
  }

  function fail(root, text, selector) {
    say(root, ""); // what was under way has stopped: the error alone says where things stand
    var box = find(root, selector || "[data-trade-error]");
    if (!box) {
      window.alert(text);
      return;
    }
    box.textContent = text;
    box.hidden = false;
  }

  function clearError(root, selector) {
    var box = find(root, selector || "[data-trade-error]");
    if (box) {
      box.hidden = true;
      box.textContent = "";
    }
  }

  async function busy(button, work) {
    if (button.disabled) return;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      await work();
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  /* The registration or the book changed: the listing page's other panels that show them (its
   * price, details, on-chain record, the owner's next step) listen and read themselves again. */
  function listingChanged(root) {
    root.dispatchEvent(new CustomEvent("listing:changed", { bubbles: true }));
  }

  function reloadOffers(root) {
    var panel = root.closest("[data-offers-url]");
    if (panel && window.htmx) {
      window.htmx.ajax("GET", panel.dataset.offersUrl, { target: panel, swap: "outerHTML" });
    }
  }

  // Nobody sees a hidden tab's offers: it asks for none (its timer still runs, and the tab
  // reads them again once shown). htmx's trigger filters would need eval, which CSP forbids.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var source = event.detail && event.detail.elt;
    if (document.visibilityState !== "visible" && source && source.matches("[data-offers-live]")) {
      event.preventDefault();
    }
  });

  function shortHex(value) {
    return value && value.length > 14 ? value.slice(0, 8) + "…" + value.slice(-4) : value;
  }

  /* ------------------------------------------------------------------ register */

  async function register(box) {
    var w = wallet();
    clearError(box);
    say(box, "Connecting to your wallet…");
    var address = await w.connectAs(box.dataset.wallet);
    say(box, "Checking your wallet's network…");
    await w.ensureChain();
    say(box, "Preparing the registration…");
    var built = await w.postJson(box.dataset.registerUrl, { sender: address });
    say(box, "Confirm the registration in your wallet…");
    await w.sendTransaction(built.transaction, {
      onSent: function () {
        say(box, "Registering at " + shortHex(built.address) + "…");
      },
    });
    await w.postJson(box.dataset.registeredUrl, {});
    say(box, "Registered at " + built.address + ". Now sign a sell order.");
    listingChanged(box);
    reloadOffers(box);
  }

  /* ------------------------------------------------------------------ sell */

  async function postForm(form) {
    var response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        body: new FormData(form),
      });
    } catch (e) {
      throw new Error("Could not reach SuperEdge: check your connection and try again.");
    }
    var data = null;
    try {
      data = await response.json();
    } catch (e) {
      /* not JSON */
    }
    if (!response.ok) {
      throw new Error((data && data.error) || "SuperEdge could not answer (HTTP " + response.status + ").");
    }
    return data;
  }

  async function sell(form) {
    var w = wallet();
    clearError(form);
    say(form, "Connecting to your wallet…");
    var address = await w.connectAs(form.getAttribute("data-wallet"));
    await w.ensureChain();
    say(form, "Preparing the orders…");
    var built = await postForm(form);
    var submissions = [];
    for (var i = 0; i < built.orders.length; i++) {
      say(form, "Sign order " + (i + 1) + " of " + built.orders.length + " in your wallet (no gas)…");
      var signature = await w.signTypedData(address, built.orders[i]);
      submissions.push({
        kind: built.kind,
        order: built.orders[i].message,
        signature: signature,
        domain: built.orders[i].domain,
      });
    }
    say(form, "Publishing…");
    var published = await w.postJson(ORDERS_API + "publish/", { orders: submissions });
    var refused = published.results.filter(function (r) {
      return r.status !== 201;
    });
    if (refused.length) {
      fail(form, refused.map(function (r) { return r.error; }).join(" "));
    }
    say(form, published.accepted + " order" + (published.accepted === 1 ? "" : "s") + " published.");
    if (published.accepted) {
      listingChanged(form);
      reloadOffers(form);
    }
  }

  /* ------------------------------------------------------------------ unpublish / close */

  async function unpublish(button) {
    var w = wallet();
    var panel = button.closest("[data-offers-url]") || document;
    var box = find(panel, "[data-trade-unpublished]");
    var digest = button.dataset.tradeUnpublish;
    var answer = await w.postJson(ORDERS_API + digest + "/unpublish/", {});
    if (box) {
      box.hidden = false;
      clearError(box);
      say(box, answer.message);
      var close = find(box, "[data-trade-close]");
      close.hidden = false;
      close.dataset.digest = digest;
      close.dataset.signer = answer.order.signer;
    }
    listingChanged(button);
    button.closest("tr").remove();
  }

  async function closeOnChain(button) {
    var w = wallet();
    var box = button.closest("[data-trade-unpublished]");
    clearError(box);
    say(box, "Connecting to your wallet…");
    await w.connectAs(button.dataset.signer);
    await w.ensureChain();
    var built = await w.postJson(ORDERS_API + button.dataset.digest + "/close/", {});
    say(box, "Confirm the close in your wallet…");
    await w.sendTransaction(built.transaction, {
      onSent: function () {
        say(box, "Closing on chain…");
      },
    });
    say(box, "Closed on chain: nobody can match this order any more.");
    button.hidden = true;
  }

  /* ------------------------------------------------------------------ buy */

  /* The buy form's controls. Its data- hooks are read with getAttribute: a control named
   * "dataset" shadows form.dataset. */
  function field(form, name) {
    return form.elements[name];
  }

  function setQuote(panel, name, text) {
    var node = panel.querySelector('[data-q="' + name + '"]');
    if (node) node.textContent = text;
  }

  function orderLine(order) {
    if (!order) return "no offer found";
    return (order.asset_name || shortHex(order.asset)) + " · " + order.price + " ECT per task";
  }

  function markStep(panel, step, state) {
    var item = panel.querySelector('[data-step="' + step + '"]');
    if (item) item.dataset.state = state;
  }

  async function uploadInputs(form) {
    var files = field(form, "inputs").files;
    var urls = [];
    for (var i = 0; i < files.length; i++) {
      var body = new FormData();
      body.append("file", files[i]);
      var response = await fetch(form.getAttribute("data-inputs-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf(), Accept: "application/json" },
        body: body,
      });
      var data = await response.json().catch(function () { return null; });
      if (!response.ok) throw new Error((data && data.error) || "Uploading " + files[i].name + " failed.");
      urls.push(data.url);
    }
    return urls;
  }

  function csrf() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  var quotes = new WeakMap();

  function fillList(list, entries) {
    list.textContent = "";
    entries.forEach(function (entry) {
      var item = document.createElement("li");
      item.textContent = entry.message;
      list.appendChild(item);
    });
  }

  /* The command line the worker will run, as the agent builds it (pools.agent.task_arguments):
   * the arguments split on spaces, {dataset} replaced by the dataset's path in /input. */
  function showCommand(form) {
    var box = document.querySelector("[data-trade-command]");
    if (!box) return;
    var select = field(form, "dataset");
    var option = select.options[select.selectedIndex];
    var file = option && option.value ? option.getAttribute("data-file") : "";
    var words = field(form, "args").value.split(/\s+/).filter(Boolean).map(function (word) {
      return file ? word.split("{dataset}").join("/input/" + file) : word;
    });
    box.textContent = ["app"].concat(words).join(" ");
  }

  /* The buyer's requirements and preferences, as the quote API reads them: blank fields are
   * left out (no requirement); whole numbers are sent as numbers, anything else as typed, so
   * that the server says what is wrong with it. */
  var REQUIREMENTS = ["cores", "memory_mb", "region", "energy_class", "max_price", "deadline_minutes", "expression"];
  var CRITERIA = ["price", "speed", "trust", "reliability", "energy"];

  function typed(value) {
    return /^[0-9]+(\.[0-9]+)?$/.test(value) && !/^0[0-9]/.test(value) ? Number(value) : value;
  }

  function requirements(form) {
    var asked = {};
    REQUIREMENTS.forEach(function (name) {
      var control = field(form, name);
      var value = control ? control.value.trim() : "";
      if (value) asked[name] = name === "max_price" || name === "expression" ? value : typed(value);
    });
    return asked;
  }

  function preferences(form) {
    var preset = field(form, "preset");
    if (!preset || preset.value !== "custom") return { preset: (preset && preset.value) || "cheapest" };
    var weights = {};
    CRITERIA.forEach(function (name) {
      var value = field(form, "weight_" + name).value.trim();
      if (value) weights[name] = typed(value);
    });
    return { weights: weights };
  }

  /* A request nothing fits: the failure says why; under it, each change that would let pools
   * in, as a button that makes it in the form (the market panel and the quote follow). */
  function offerChanges(list, answer) {
    var nothing = answer.failures.some(function (f) { return f.check === "NothingMatches"; });
    if (!nothing || !answer.market || !answer.market.suggestions.length) return;
    var item = document.createElement("li");
    item.className = "market-changes";
    item.appendChild(document.createTextNode("Change your request: "));
    answer.market.suggestions.forEach(function (suggestion) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-small btn-ghost";
      button.dataset.marketSuggestion = "";
      button.dataset.field = suggestion.field;
      button.dataset.value = suggestion.value === null ? "" : String(suggestion.value);
      if (suggestion.also && suggestion.also.length) {
        button.dataset.also = JSON.stringify(suggestion.also.map(function (change) {
          return [change.field, change.value === null ? "" : String(change.value)];
        }));
      }
      button.textContent = suggestion.words.charAt(0).toUpperCase() + suggestion.words.slice(1);
      item.appendChild(button);
    });
    list.appendChild(item);
  }

  /* A suggestion sets its field; the change event asks the market panel again (htmx) and
   * marks the quote as out of date. */
  function applySuggestion(form, control) {
    var changes = [[control.dataset.field, control.dataset.value]];
    if (control.dataset.also) changes = changes.concat(JSON.parse(control.dataset.also));
    var targets = changes.map(function (change) { return field(form, change[0]); });
    if (targets.some(function (target) { return !target; })) return false;
    targets.forEach(function (target, i) {
      var details = target.closest("details"); // the advanced expression: shown when changed
      if (details) details.open = true;
      target.value = changes[i][1];
    });
    // One change event for them all: the market panel is asked once, with every change made.
    targets[targets.length - 1].dispatchEvent(new Event("change", { bubbles: true }));
    targets[0].focus();
    return true;
  }

  /* The quote shown is for the request as it was: once the form changes, it cannot be bought
   * until it is found again. */
  function staleQuote() {
    var panel = document.querySelector("[data-trade-quote-panel]");
    if (!panel || panel.hidden || !quotes.get(panel)) return;
    quotes.delete(panel);
    // Why the old request could not be bought is not why this one cannot: find offers again.
    fillList(panel.querySelector("[data-trade-failures]"), []);
    fillList(panel.querySelector("[data-trade-warnings]"), []);
    panel.querySelectorAll("[data-q]").forEach(function (line) {
      line.textContent = "—";
    });
    panel.querySelector("[data-trade-buy-button]").disabled = true;
    say(panel, "Your request changed: click Find offers again to see its price.");
  }

  /* The API names the input at fault by its path ("requirements.max_price: …"): on the page,
   * by the label of the control that holds it, which it marks invalid. */
  function inWords(form, err) {
    var path = err && err.field;
    if (!path) return err;
    var name = path.split(".").pop();
    if (/^preferences\.weights\./.test(path)) name = "weight_" + name;
    var control = field(form, name);
    var label = control && control.labels && control.labels[0];
    if (!label) return err;
    control.setAttribute("aria-invalid", "true");
    // The label's own words: a label may hold its control (and a select its options' words).
    var words = Array.prototype.filter
      .call(label.childNodes, function (node) { return node.nodeType === Node.TEXT_NODE; })
      .map(function (node) { return node.textContent; })
      .join(" ")
      .replace(/\s+/g, " ")
      .trim()
      .replace(/:$/, "");
    if (!words) return err;
    var message = err.message;
    if (message.indexOf(path + ": ") === 0) message = message.slice(path.length + 2);
    var shown = new Error(words + ": " + message);
    shown.field = path;
    return shown;
  }

  async function quote(form) {
    var w = wallet();
    var panel = document.querySelector("[data-trade-quote-panel]");
    clearError(form);
    var inputs = await uploadInputs(form);
    var answer;
    try {
      answer = await w.postJson(form.getAttribute("data-quote-url"), {
        requester: field(form, "requester").value,
        app: form.getAttribute("data-app"),
        dataset: field(form, "dataset").value,
        workerpool: field(form, "workerpool").value,
        category: parseInt(field(form, "category").value, 10),
        trust: parseInt(field(form, "trust").value, 10) || 0,
        volume: parseInt(field(form, "volume").value, 10) || 1,
        args: field(form, "args").value,
        input_files: inputs,
        requirements: requirements(form),
        preferences: preferences(form),
      });
    } catch (err) {
      throw inWords(form, err);
    }
    quotes.set(panel, { answer: answer, form: form });
    panel.hidden = false;
    setQuote(panel, "app", orderLine(answer.app_order));
    setQuote(panel, "dataset", field(form, "dataset").value ? orderLine(answer.dataset_order) : "none (no dataset)");
    setQuote(panel, "pool", orderLine(answer.workerpool_order));
    setQuote(panel, "command_line", answer.command_line);
    setQuote(panel, "task_price", answer.ready ? answer.task_price + " ECT" : "—");
    setQuote(panel, "total", answer.ready ? answer.total + " ECT" : "—");
    setQuote(panel, "stake", answer.stake + " ECT free (wallet: " + answer.wallet + " ECT)");
    setQuote(panel, "deposit", answer.deposit_needed === "0" ? "nothing" : answer.deposit_needed + " ECT");
    fillList(panel.querySelector("[data-trade-failures]"), answer.failures);
    offerChanges(panel.querySelector("[data-trade-failures]"), answer);
    fillList(panel.querySelector("[data-trade-warnings]"), answer.warnings);
    panel.querySelectorAll("[data-step]").forEach(function (item) {
      item.dataset.state = "";
    });
    markStep(panel, "deposit", answer.deposit_needed === "0" ? "skipped" : "");
    clearError(panel, "[data-trade-buy-error]");
    say(panel, answer.ready ? "Ready: check the total, then buy." : "This cannot be bought as it is: see why above.");
    panel.querySelector("[data-trade-buy-button]").disabled = !answer.ready;
    panel.querySelector("[data-trade-steps]").hidden = !answer.ready;
  }

  async function buy(button) {
    var w = wallet();
    var panel = button.closest("[data-trade-quote-panel]");
    var held = quotes.get(panel);
    if (!held) return;
    var answer = held.answer;
    var form = held.form;
    clearError(panel, "[data-trade-buy-error]");
    var requester = answer.request_typed_data.message.requester;
    say(panel, "Connecting to your wallet…");
    await w.connectAs(requester);
    await w.ensureChain();
    if (answer.deposit_needed !== "0") {
      markStep(panel, "deposit", "active");
      var deposited = await w.deposit(answer.deposit_needed, {
        address: requester,
        onStep: function (text) {
          say(panel, text);
        },
      });
      // Once in the escrow, it stays there: a later refusal must not deposit it again.
      answer.deposit_needed = "0";
      held.deposited = deposited.amount;
      setQuote(panel, "deposit", "done (" + deposited.amount + " ECT deposited)");
      markStep(panel, "deposit", "done");
    }
    markStep(panel, "sign", "active");
    say(panel, "Sign the request in your wallet (no gas)…");
    var signature = await w.signTypedData(requester, answer.request_typed_data);
    markStep(panel, "sign", "done");
    markStep(panel, "send", "active");
    say(panel, "Checking every order once more…");
    var match = await w.postJson(form.getAttribute("data-match-url"), {
      request: answer.request_typed_data.message,
      signature: signature,
      app_order: answer.app_order.digest,
      dataset_order: answer.dataset_order ? answer.dataset_order.digest : "",
      workerpool_order: answer.workerpool_order.digest,
    });
    say(panel, "Confirm the purchase in your wallet…");
    await w.sendTransaction(match.transaction, {
      onSent: function () {
        say(panel, "Sending…");
      },
    });
    markStep(panel, "send", "done");
    markStep(panel, "deal", "active");
    say(panel, "Bought: opening the deal…");
    window.location.assign(match.deal_url);
  }

  /* ------------------------------------------------------------------ wiring */

  function guard(root, work, selector) {
    return work().catch(function (err) {
      fail(root, (err && err.message) || String(err), selector);
    });
  }

  document.addEventListener("click", function (event) {
    var suggestion = event.target.closest && event.target.closest("[data-market-suggestion]");
    var buyForm = document.querySelector("[data-trade-buy]");
    if (suggestion && buyForm && applySuggestion(buyForm, suggestion)) {
      event.preventDefault(); // the link opens the page with the change, for browsers without JS
      return;
    }
    var target = event.target.closest && event.target.closest(
      "[data-trade-register-button], [data-trade-unpublish], [data-trade-close], [data-trade-buy-button]"
    );
    if (!target) return;
    event.preventDefault();
    if (target.matches("[data-trade-register-button]")) {
      var box = target.closest("[data-trade-register]");
      busy(target, function () { return guard(box, function () { return register(box); }); });
    } else if (target.matches("[data-trade-unpublish]")) {
      var panel = target.closest("[data-offers-url]") || document.body;
      busy(target, function () { return guard(panel, function () { return unpublish(target); }); });
    } else if (target.matches("[data-trade-close]")) {
      var closeBox = target.closest("[data-trade-unpublished]");
      busy(target, function () { return guard(closeBox, function () { return closeOnChain(target); }); });
    } else {
      var quotePanel = target.closest("[data-trade-quote-panel]");
      busy(target, function () {
        return buy(target).catch(function (err) {
          // The step under way stopped where it was: it goes back to waiting (done ones stay).
          quotePanel.querySelectorAll('[data-step][data-state="active"]').forEach(function (item) {
            item.dataset.state = "";
          });
          var held = quotes.get(quotePanel) || {};
          var text = (err && err.message) || String(err);
          if (held.deposited) {
            text = "Your " + held.deposited + " ECT deposit is in your escrow and stays there. " +
              "The purchase did not go through: " + text + " Click Buy to try again; nothing " +
              "will be deposited twice.";
          }
          fail(quotePanel, text, "[data-trade-buy-error]");
        });
      });
    }
  });

  ["input", "change"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var form = event.target.form;
      if (form && form.matches("[data-trade-buy]") && /^(args|dataset)$/.test(event.target.name)) {
        showCommand(form);
      }
    });
  });
  // The buy form offers only the categories the chosen pool sells (data-categories on each
  // pool option); "best offer" keeps every category some pool sells.
  function offerCategories(form) {
    var pool = field(form, "workerpool");
    var select = form.querySelector("[data-trade-category]");
    if (!pool || !select) return;
    var chosen = pool.options[pool.selectedIndex];
    var sold = chosen && chosen.value ? chosen.getAttribute("data-categories").split(" ") : null;
    var firstSold = null;
    Array.prototype.forEach.call(select.options, function (option) {
      var offered = !option.value || !sold || sold.indexOf(option.value) >= 0;
      option.disabled = !offered || !option.value;
      option.hidden = !offered;
      if (offered && option.value && firstSold === null) firstSold = option;
    });
    var current = select.options[select.selectedIndex];
    if ((!current || current.disabled) && firstSold) firstSold.selected = true;
  }

  document.addEventListener("change", function (event) {
    // The ranking's controls belong to the buy form by their form attribute, outside it.
    var form = event.target.form || (event.target.closest && event.target.closest("[data-trade-buy]"));
    if (!form || !form.matches("[data-trade-buy]")) return;
    if (event.target.name === "workerpool") offerCategories(form);
    if (event.target.removeAttribute) event.target.removeAttribute("aria-invalid");
    staleQuote();
  });
  // Typing a weight means ranking by one's own weights.
  document.addEventListener("input", function (event) {
    var form = event.target.form;
    if (form && form.matches("[data-trade-buy]") && /^weight_/.test(event.target.name)) {
      var preset = field(form, "preset");
      if (preset && preset.value !== "custom") preset.value = "custom";
    }
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-trade-buy]"), offerCategories);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches("[data-trade-sell]")) {
      event.preventDefault();
      var button = form.querySelector("[type=submit]");
      busy(button, function () { return guard(form, function () { return sell(form); }); });
    } else if (form.matches("[data-trade-buy]")) {
      event.preventDefault();
      var quoteButton = form.querySelector("[data-trade-quote]");
      busy(quoteButton, function () { return guard(form, function () { return quote(form); }); });
    }
  });
})();
