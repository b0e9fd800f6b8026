// brand.js: the product's and the company's name, and the version, on the
// home page and the log-in forms, from /api/v1/about (public: the company's
// name is on every message its customers get). Text only, never HTML.
(function () {
  "use strict";
  fetch("/api/v1/about").then(function (r) { return r.ok ? r.json() : null; }).then(function (a) {
    if (!a) { return; }
    document.querySelectorAll(".company-name").forEach(function (e) { e.textContent = a.company; });
    document.querySelectorAll(".version").forEach(function (e) { e.textContent = a.product + " " + a.version; });
  }).catch(function () {});
})();
