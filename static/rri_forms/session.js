// Copy-to-clipboard buttons on the session page.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.querySelector(button.getAttribute("data-copy"));
      if (!input) { return; }
      input.select();
      if (navigator.clipboard) { navigator.clipboard.writeText(input.value); }
      button.textContent = button.getAttribute("data-copied") || "Copied";
    });
  });
})();
