// Quick exit. Without JavaScript the control works on its own: a form that ends the session
// on the server and sends the browser to an ordinary site (a visitor with nothing to end gets
// a plain link there). Where scripts run, leaving also replaces this page in the history, so
// Back does not return to it, and pressing Escape twice leaves from anywhere except a field
// being written in: there Escape belongs to the field, and leaving would lose the text.
(function () {
  "use strict";
  var control = document.getElementById("quick-exit");
  if (!control) { return; }
  var form = control.form || null;
  var target = form ? form.getAttribute("data-target") : control.getAttribute("href");
  var DOUBLE_PRESS_MS = 1000;
  var lastEscape = 0;
  var leaving = false;

  // Sent in the background so that leaving does not wait for the answer; a beacon outlives
  // the page it was sent from.
  function endSession() {
    var data = new FormData(form);
    if (navigator.sendBeacon && navigator.sendBeacon(form.action, data)) { return true; }
    if (!window.fetch) { return false; }
    fetch(form.action, {
      method: "POST", body: data, credentials: "same-origin", keepalive: true, redirect: "manual"
    });
    return true;
  }

  function leave(event) {
    if (event) { event.preventDefault(); }
    if (leaving) { return; }
    leaving = true;
    document.body.style.display = "none";
    if (form && !endSession()) { form.submit(); return; }
    window.location.replace(target);
  }

  function writingIn(element) {
    if (!element) { return false; }
    if (element.isContentEditable) { return true; }
    var name = element.tagName;
    if (name === "TEXTAREA" || name === "SELECT") { return true; }
    return name === "INPUT" && !/^(checkbox|radio|button|submit|reset)$/i.test(element.type);
  }

  if (form) { form.addEventListener("submit", leave); } else { control.addEventListener("click", leave); }
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") { return; }
    if (event.isComposing || writingIn(event.target)) { lastEscape = 0; return; }
    var now = Date.now();
    if (now - lastEscape <= DOUBLE_PRESS_MS) { leave(event); } else { lastEscape = now; }
  });
})();
