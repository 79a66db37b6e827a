/*
 * A refusal answered to an htmx request shows where the answer would have gone.
 *
 * htmx leaves 4xx and 5xx answers unswapped. The site's refusals (an AppError, rendered by
 * frontend.errors.app_error_page) come as a box marked with the X-App-Error header: those are
 * swapped like a success would have been, so the user reads what went wrong and what to do.
 * Any other error answer stays unswapped, as htmx does by default.
 */
(function () {
  "use strict";

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status >= 400 && xhr.getResponseHeader("X-App-Error")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
