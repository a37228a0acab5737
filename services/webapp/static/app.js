// Seller Support web app: the only script of our own (no inline script; CSP script-src 'self').
// After htmx replaces the page body on navigation, move focus to the main region so keyboard and
// screen-reader users start at the new content.
document.addEventListener("htmx:afterSettle", function (event) {
  if (event.detail && event.detail.boosted) {
    var main = document.getElementById("main");
    if (main) { main.focus({ preventScroll: true }); }
  }
});
