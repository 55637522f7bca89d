// Counts answered questions as the client goes; the form works without this file.
(function () {
  "use strict";
  var form = document.getElementById("client-form");
  var progress = document.getElementById("progress");
  if (!form || !progress) { return; }
  var total = parseInt(progress.getAttribute("data-total"), 10);
  var sending = false;
  function update() {
    var answered = {};
    form.querySelectorAll("input[type=radio]:checked").forEach(function (el) { answered[el.name] = true; });
    var template = progress.getAttribute("data-template") || "__answered__ / __total__";
    progress.textContent = template.replace("__answered__", Object.keys(answered).length)
      .replace("__total__", total);
  }
  form.addEventListener("change", update);
  form.addEventListener("submit", function (event) {
    // One press sends once; a retry after a failure re-sends the same submission id.
    if (sending) { event.preventDefault(); return; }
    sending = true;
    window.setTimeout(function () { sending = false; }, 8000);
  });
  update();
  var summary = document.getElementById("missing-summary");
  if (summary) { summary.focus(); }
})();
