// Counts answered questions and keeps the answers as the client goes; the form works
// without this file (its "Save and finish later" button keeps a draft on the server).
//
// Each change is written at once to localStorage (one entry: a shared phone keeps only the
// latest client's draft, and it expires with the link) and, shortly after, to the server's
// draft for this browser session. On load, answers kept on the phone that the page lacks
// are put back (a reload, Back, a dropped connection, a closed tab).
(function () {
  "use strict";
  var form = document.getElementById("client-form");
  var progress = document.getElementById("progress");
  if (!form || !progress) { return; }
  var STORE = "dyad-client-draft";
  var key = form.getAttribute("data-draft-key") || "";
  var expires = parseInt(form.getAttribute("data-draft-expires"), 10) || 0;
  var total = parseInt(progress.getAttribute("data-total"), 10);
  var offline = document.getElementById("offline");
  var sending = false;
  var timer = null;
  var pending = false;

  function answers() {
    var found = {};
    form.querySelectorAll("input[type=radio]:checked").forEach(function (el) { found[el.name] = el.value; });
    return found;
  }
  function update() {
    var template = progress.getAttribute("data-template") || "__answered__ / __total__";
    progress.textContent = template.replace("__answered__", Object.keys(answers()).length)
      .replace("__total__", total);
  }
  function readStore() {
    try {
      var entry = JSON.parse(window.localStorage.getItem(STORE) || "null");
      if (!entry || entry.key !== key) { return null; }
      if (entry.expires && entry.expires < Date.now()) {
        window.localStorage.removeItem(STORE);
        return null;
      }
      return entry;
    } catch (error) { return null; }
  }
  function writeStore() {
    try {
      window.localStorage.setItem(STORE, JSON.stringify({key: key, expires: expires, answers: answers()}));
    } catch (error) { /* private mode or full: the server's draft still keeps them */ }
  }
  function draftBody() {
    var body = new FormData(form);
    body.set("intent", "draft");
    body.set("background", "1");
    return body;
  }
  function saveNow() {
    timer = null;
    if (!pending || !window.fetch) { return; }
    if (navigator.onLine === false) { return; }  // sent again on "online"
    pending = false;
    window.fetch(form.action, {method: "POST", body: draftBody(), credentials: "same-origin"})
      .then(function (response) {
        if (response.status >= 500 || response.status === 429) { pending = true; }
      })
      .catch(function () { pending = true; });
  }
  function saveSoon() {
    pending = true;
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(saveNow, 700);
  }
  function restore() {
    var entry = readStore();
    if (!entry || !entry.answers) { return false; }
    var changed = false;
    Object.keys(entry.answers).forEach(function (name) {
      var value = entry.answers[name];
      var inputs = form.querySelectorAll("input[type=radio]");
      for (var i = 0; i < inputs.length; i++) {
        var input = inputs[i];
        if (input.name === name && input.value === String(value) && !input.checked) {
          input.checked = true;
          changed = true;
        }
      }
    });
    return changed;
  }

  // A risk answer (PHQ-9 item 9 above 0) shows where to get help at once, below the part.
  var risks = Array.prototype.slice.call(form.querySelectorAll("[data-risk-fields]"));
  function showRisk() {
    risks.forEach(function (box) {
      var threshold = parseInt(box.getAttribute("data-risk-threshold"), 10) || 0;
      var names = box.getAttribute("data-risk-fields").split(" ");
      box.hidden = !names.some(function (name) {
        var checked = form.querySelector("input[name='" + name + "']:checked");
        return checked && parseInt(checked.value, 10) > threshold;
      });
    });
  }

  form.addEventListener("change", function () {
    update();
    showRisk();
    writeStore();
    saveSoon();
  });
  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (submitter && submitter.name === "intent") { return; }  // "Save and finish later"
    if (navigator.onLine === false) {
      // Nothing would arrive: keep the page (and its answers) instead of an error page.
      event.preventDefault();
      if (offline) { offline.hidden = false; offline.scrollIntoView({block: "center"}); }
      return;
    }
    // One press sends once; a retry after a failure re-sends the same submission id.
    if (sending) { event.preventDefault(); return; }
    sending = true;
    window.setTimeout(function () { sending = false; }, 8000);
  });
  window.addEventListener("online", function () {
    if (offline) { offline.hidden = true; }
    if (pending) { saveNow(); }
  });
  window.addEventListener("pagehide", function () {
    // Leaving (Back, a closed tab) with a save still waiting: send it on the way out.
    if (pending && navigator.sendBeacon) {
      pending = false;
      navigator.sendBeacon(form.action, draftBody());
    }
  });

  if (key) {
    if (restore()) { saveSoon(); }
    writeStore();
  }
  update();
  showRisk();
  var summary = document.getElementById("missing-summary");
  if (summary) { summary.focus(); }
})();
