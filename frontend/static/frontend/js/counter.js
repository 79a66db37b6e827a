/*
 * Live character counters for text with a limit, instead of silent truncation.
 *
 * Hook: data-counter on an <input> or <textarea> with a maxlength. Without this script the
 * browser's maxlength holds the limit; with it, the maxlength is lifted (a longer paste would be
 * cut without a word), a counter below the box says "12 / 80 characters", and past the limit it
 * says by how much, and the box refuses to be submitted with a message saying the same.
 * Characters are counted as the server counts them: code points, a line break as one.
 */
(function () {
  "use strict";

  var counted = 0;

  function number(n) {
    return n.toLocaleString("en");
  }

  function length(text) {
    return Array.from(text.replace(/\r\n/g, "\n")).length;
  }

  function update(box, counter, limit) {
    var used = length(box.value);
    var over = used - limit;
    counter.textContent =
      number(used) + " / " + number(limit) + " characters" +
      (over > 0 ? ": " + number(over) + " too many" : "");
    counter.classList.toggle("over", over > 0);
    box.setCustomValidity(
      over > 0 ? "At most " + number(limit) + " characters; this has " + number(used) +
        ": shorten it by " + number(over) + "." : ""
    );
  }

  function attach(box) {
    var limit = parseInt(box.getAttribute("maxlength"), 10);
    if (!(limit > 0) || box.hasAttribute("data-counter-limit")) return;
    box.setAttribute("data-counter-limit", String(limit));
    box.removeAttribute("maxlength");
    var counter = document.createElement("p");
    counter.className = "counter";
    counter.id = "counter-" + (++counted);
    box.insertAdjacentElement("afterend", counter);
    var described = box.getAttribute("aria-describedby");
    box.setAttribute("aria-describedby", (described ? described + " " : "") + counter.id);
    box.addEventListener("input", function () { update(box, counter, limit); });
    update(box, counter, limit);
  }

  function attachAll(root) {
    var boxes = (root || document).querySelectorAll("[data-counter]");
    for (var i = 0; i < boxes.length; i++) attach(boxes[i]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { attachAll(document); });
  } else {
    attachAll(document);
  }
  document.addEventListener("htmx:load", function (event) { attachAll(event.target); });
})();
