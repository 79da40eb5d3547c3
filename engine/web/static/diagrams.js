// Draws every <pre class="mermaid"> of the page with the vendored Mermaid
// (vendor/mermaid/mermaid.min.js). Without JavaScript, or if drawing fails, the
// Mermaid text stays on the page as it is.
(function () {
  "use strict";
  if (!window.mermaid) { return; }
  // Each diagram fits its box's width; definitions.css keeps it from shrinking below a
  // readable size (on a phone it then scrolls inside its box).
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });
  window.mermaid.run({ querySelector: "pre.mermaid", suppressErrors: true }).then(function () {
    document.documentElement.setAttribute("data-diagrams", "drawn");
  });
})();
