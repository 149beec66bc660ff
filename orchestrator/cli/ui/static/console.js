// auto-lambda console: refresh the page's live region while it is visible.
// The page works without this file: every view is a plain link or form.
(function () {
  "use strict";
  var main = document.querySelector("main[data-live]");
  if (!main || !window.fetch) { return; }
  var source = main.getAttribute("data-live");
  var every = Math.max(1, parseFloat(main.getAttribute("data-every") || "3")) * 1000;
  var status = document.getElementById("live-status");
  var timer = null;
  var failures = 0;

  function say(text) { if (status) { status.textContent = text; } }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, failures ? Math.min(every * (failures + 1), 30000) : every);
  }

  function refresh() {
    if (document.hidden) { schedule(); return; }
    fetch(source, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        var target = document.getElementById("live");
        if (target && target.innerHTML !== html) { target.innerHTML = html; }
        failures = 0;
        say("live · " + new Date().toLocaleTimeString());
        // A finished job's page stops refreshing.
        if (target && target.querySelector(".state.final")) { say("finished"); return; }
        schedule();
      })
      .catch(function (err) {
        failures += 1;
        say("not refreshed (" + err.message + "), retrying");
        schedule();
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { refresh(); }
  });
  say("live");
  schedule();
})();
