// The answers are saved: the copy kept on this phone while answering is no longer needed.
(function () {
  "use strict";
  try { window.localStorage.removeItem("dyad-client-draft"); } catch (error) { /* none kept */ }
})();
