// Seller Support web app: the only script of our own (no inline script; CSP script-src 'self').
// After htmx replaces the page body on navigation, move focus to the main region so keyboard and
// screen-reader users start at the new content.
document.addEventListener("htmx:afterSettle", function (event) {
  if (event.detail && event.detail.boosted) {
    var main = document.getElementById("main");
    if (main) { main.focus({ preventScroll: true }); }
  }
});

// Tabs (the inbox's Customer Service / All Messages): arrow keys move between them, as the
// WAI-ARIA tabs pattern expects; Enter follows the focused tab's link.
document.addEventListener("keydown", function (event) {
  var tab = event.target;
  if (!tab || tab.getAttribute("role") !== "tab") { return; }
  var tabs = Array.prototype.slice.call(tab.parentNode.querySelectorAll("[role=tab]"));
  var index = tabs.indexOf(tab);
  var next = null;
  if (event.key === "ArrowRight") { next = tabs[(index + 1) % tabs.length]; }
  if (event.key === "ArrowLeft") { next = tabs[(index - 1 + tabs.length) % tabs.length]; }
  if (event.key === "Home") { next = tabs[0]; }
  if (event.key === "End") { next = tabs[tabs.length - 1]; }
  if (next) { event.preventDefault(); next.focus(); }
});
