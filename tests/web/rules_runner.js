// Runs engine/web/static/rules.js (with the vendored json-logic-js) under Node, without a
// page: reads {"cases": [{"spec": ..., "doc": ...}, ...]} as JSON on stdin and prints the
// problems AksiRules.check finds in each, as a JSON list of lists (a case's "previous":
// last year's document, for the year-over-year warnings).
"use strict";
const path = require("path");
const AksiRules = require(path.join(__dirname, "..", "..", "engine", "web", "static", "rules.js"));

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const {cases} = JSON.parse(input);
  const out = cases.map((c) => AksiRules.check(c.spec, c.doc, c.previous));
  process.stdout.write(JSON.stringify(out));
});
