/*
 * Relative times that stay true while the page is open ("3 minutes ago", not the "2 seconds
 * ago" of the moment the page was made).
 *
 * Hook: data-relative on a <time datetime="..."> (ISO 8601, as Django's date:"c" gives it).
 * The server writes the first text (humanize's naturaltime); this script writes it again every
 * REFRESH_MS, and at once after htmx swaps new content in, in the same words: under a minute
 * "N seconds ago", under an hour "N minutes ago", under a day "N hours ago", then the two
 * largest units ("2 days, 3 hours ago"). Without JavaScript the server's text stays.
 */
(function () {
  "use strict";

  var REFRESH_MS = 15000;
  var NBSP = "\u00a0";
  var UNITS = [
    ["year", 365 * 24 * 3600],
    ["month", 30 * 24 * 3600],
    ["week", 7 * 24 * 3600],
    ["day", 24 * 3600],
    ["hour", 3600],
    ["minute", 60],
  ];

  function count(n, unit) {
    return n + NBSP + unit + (n === 1 ? "" : "s");
  }

  function ago(seconds) {
    if (seconds < 1) return "now";
    if (seconds < 60) return seconds === 1 ? "a second ago" : count(seconds, "second") + " ago";
    if (seconds < 3600) {
      var minutes = Math.floor(seconds / 60);
      return minutes === 1 ? "a minute ago" : count(minutes, "minute") + " ago";
    }
    if (seconds < 24 * 3600) {
      var hours = Math.floor(seconds / 3600);
      return hours === 1 ? "an hour ago" : count(hours, "hour") + " ago";
    }
    for (var i = 0; i < UNITS.length; i++) {
      var first = Math.floor(seconds / UNITS[i][1]);
      if (first < 1) continue;
      var text = count(first, UNITS[i][0]);
      var next = UNITS[i + 1];
      if (next) {
        var second = Math.floor((seconds - first * UNITS[i][1]) / next[1]);
        if (second > 0) text += ", " + count(second, next[0]);
      }
      return text + " ago";
    }
    return "now";
  }

  function refresh() {
    var now = Date.now();
    document.querySelectorAll("time[data-relative]").forEach(function (time) {
      var at = Date.parse(time.getAttribute("datetime"));
      if (isNaN(at)) return;
      var seconds = Math.max(0, Math.floor((now - at) / 1000));
      var text = at > now ? "now" : ago(seconds);
      if (time.textContent !== text) time.textContent = text;
    });
  }

  function start() {
    refresh();
    window.setInterval(refresh, REFRESH_MS);
    document.body.addEventListener("htmx:afterSwap", refresh);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
