// A form sent back with problems: the focus goes to their summary at the top of the page,
// so a keyboard or screen-reader user starts there (each problem links to its field).
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
