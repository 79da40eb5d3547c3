/* Form rules in the browser, as the operator types: the rules of the form's rules file
 * (engine/web/client_rules.py sends them as data) run with the vendored json-logic-js and
 * worded exactly as engine/forms/validate.py words them; the server checks again on every
 * save, and without JavaScript the page works as before.
 *
 * Two entry points:
 *   AksiRules.check(spec, doc)       -> problems of a document (DOM-free; Node runs it in
 *                                       tests/web/test_client_rules.py against the server)
 *   AksiRules.attach(element, spec)  -> the form on the page: reads the cells by their
 *                                       cell-key names, writes the messages.
 * Script tags <script type="application/json" data-aksi-rules="FORM"> are attached by
 * themselves once the page is parsed. The stage page's tag holds only the context ({form,
 * year, row_kind, src}): the form's part is fetched from ``src`` (the same for every
 * region, cached a year) and each per-region row is named from its row header as
 * validate.region_label names it.
 *
 * The engine's meaning of the operators (engine/definitions/forms/logic.py), not json-logic-js's own:
 * a `var` that is not filled (absent or null) makes the whole rule not judged, where
 * json-logic-js would read null and compare it (null <= 5 is true in JavaScript);
 * arithmetic and comparisons take numbers only (text is the schema's problem: not
 * judged), `==` is Python's equality (no "1" == 1), `%` is Python's modulo, a division by
 * zero is not judged, truthiness is Python's ({} is false), `and`/`or` give true/false.
 * They are registered with jsonLogic.add_operation, with `year` and `month`.
 */
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) {
    module.exports = factory(require("./vendor/json-logic-js/logic.js"));
  } else {
    root.AksiRules = factory(root.jsonLogic);
  }
}(typeof self !== "undefined" ? self : this, function (jsonLogic) {
  "use strict";
  if (!jsonLogic) {
    throw new Error("rules.js: vendor/json-logic-js/logic.js must be loaded first");
  }

  var CYCLE = "_siklus";
  var PER_REGION = "per_region", ROWS = "rows";
  var ERROR = "error";
  var hasOwn = Object.prototype.hasOwnProperty;

  function has(obj, key) { return obj !== null && obj !== undefined && hasOwn.call(obj, key); }
  function isMapping(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }
  function get(obj, key) { return has(obj, key) ? obj[key] : null; }

  // -- the engine's operators --------------------------------------------------------------

  /** Thrown when a rule cannot be judged (engine/definitions/forms/logic.py: Missing, NOT_JUDGED). */
  function Missing(what) { this.what = what; }

  function truthy(v) { // Python's bool()
    if (v === null || v === undefined) { return false; }
    if (Array.isArray(v)) { return v.length > 0; }
    if (typeof v === "object") { return Object.keys(v).length > 0; }
    if (typeof v === "number") { return v !== 0; } // NaN is true in Python
    return !!v;
  }

  function number(v) { // JavaScript booleans are not numbers, as in the engine
    if (typeof v !== "number") { throw new Missing(v); }
    return v;
  }

  function codePoints(s) { return Array.from(s); }

  function compareStrings(a, b) { // Python orders text by code point, not UTF-16 unit
    if (/^[\u0000-\ud7ff]*$/.test(a + b)) { return a < b ? -1 : (a > b ? 1 : 0); }
    var x = codePoints(a), y = codePoints(b), n = Math.min(x.length, y.length);
    for (var i = 0; i < n; i++) {
      var d = x[i].codePointAt(0) - y[i].codePointAt(0);
      if (d !== 0) { return d < 0 ? -1 : 1; }
    }
    return x.length - y.length < 0 ? -1 : (x.length === y.length ? 0 : 1);
  }

  function pyEquals(a, b) { // Python's ==, on JSON values
    var na = typeof a === "number" || typeof a === "boolean";
    var nb = typeof b === "number" || typeof b === "boolean";
    if (na || nb) { return na && nb && Number(a) === Number(b); }
    if (a === null || a === undefined || b === null || b === undefined) {
      return (a === null || a === undefined) && (b === null || b === undefined);
    }
    if (typeof a === "string" || typeof b === "string") { return a === b; }
    if (Array.isArray(a) || Array.isArray(b)) {
      if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) { return false; }
      for (var i = 0; i < a.length; i++) { if (!pyEquals(a[i], b[i])) { return false; } }
      return true;
    }
    var ka = Object.keys(a), kb = Object.keys(b);
    if (ka.length !== kb.length) { return false; }
    return ka.every(function (k) { return has(b, k) && pyEquals(a[k], b[k]); });
  }

  function comparison(test) {
    return function (a, b) {
      if (typeof a === "number" && typeof b === "number") {
        return test(a < b ? -1 : (a > b ? 1 : 0));
      }
      if (typeof a === "string" && typeof b === "string") { return test(compareStrings(a, b)); }
      throw new Missing([a, b]); // a value of the wrong type is the schema's problem
    };
  }

  function fold(fn) {
    return function () {
      return Array.prototype.map.call(arguments, number).reduce(fn);
    };
  }

  var DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

  function isLeap(y) { return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0; }

  var ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$|^(\d{4})(\d{2})(\d{2})$/;
  var ISO_WEEK = /^(\d{4})-W(\d{2})(?:-([1-7]))?$|^(\d{4})W(\d{2})([1-7])?$/;
  var DAY = 86400000;

  function utc(y, m, d) { // Date.UTC takes 0-99 as 1900-1999
    var t = new Date(Date.UTC(2000, m, d));
    t.setUTCFullYear(y, m, d);
    return t;
  }

  /** [year, month] of what Python's date.fromisoformat(str(value)) reads (Python 3.11:
   *  YYYY-MM-DD, YYYYMMDD and the ISO week dates), or Missing. */
  function dateParts(value) {
    var text = typeof value === "string" ? value
      : (typeof value === "number" && Number.isInteger(value) ? String(value) : "");
    var m = ISO_DATE.exec(text);
    if (m) {
      var y = +(m[1] || m[4]), mo = +(m[2] || m[5]), d = +(m[3] || m[6]);
      if (y >= 1 && mo >= 1 && mo <= 12 && d >= 1 &&
          d <= (mo === 2 && isLeap(y) ? 29 : DAYS[mo - 1])) {
        return [y, mo];
      }
      throw new Missing(value);
    }
    var w = ISO_WEEK.exec(text);
    if (w) {
      var year = +(w[1] || w[4]), week = +(w[2] || w[5]), day = +(w[3] || w[6] || 1);
      var jan1 = utc(year, 0, 1).getUTCDay(); // 0 Sunday ... 4 Thursday
      var weeks = (jan1 === 4 || (jan1 === 3 && isLeap(year))) ? 53 : 52;
      if (year >= 1 && week >= 1 && week <= weeks) {
        var jan4 = utc(year, 0, 4);
        var monday = jan4.getTime() - ((jan4.getUTCDay() + 6) % 7) * DAY; // Monday of week 1
        var at = new Date(monday + ((week - 1) * 7 + day - 1) * DAY);
        return [at.getUTCFullYear(), at.getUTCMonth() + 1];
      }
    }
    throw new Missing(value);
  }

  var OPERATIONS = {
    "var": function (path) {
      var value = this;
      if (typeof path !== "string" || !path) { throw new Missing(path); }
      var parts = path.split(".");
      for (var i = 0; i < parts.length; i++) {
        if (!isMapping(value) || !has(value, parts[i]) ||
            value[parts[i]] === null || value[parts[i]] === undefined) {
          throw new Missing(path);
        }
        value = value[parts[i]];
      }
      return value;
    },
    "==": function (a, b) { return pyEquals(a, b); },
    "!=": function (a, b) { return !pyEquals(a, b); },
    "<": comparison(function (c) { return c < 0; }),
    "<=": comparison(function (c) { return c <= 0; }),
    ">": comparison(function (c) { return c > 0; }),
    ">=": comparison(function (c) { return c >= 0; }),
    "+": fold(function (a, b) { return a + b; }),
    "*": fold(function (a, b) { return a * b; }),
    "-": function (a, b) {
      return arguments.length === 1 ? -number(a) : number(a) - number(b);
    },
    "/": function (a, b) {
      number(a);
      if (number(b) === 0) { throw new Missing("/0"); }
      return a / b;
    },
    "%": function (a, b) {
      number(a);
      if (number(b) === 0) { throw new Missing("%0"); } // ZeroDivisionError: not judged
      var r = a % b;
      return (r !== 0 && (r < 0) !== (b < 0)) ? r + b : r; // Python: the sign of b
    },
    "!": function (a) { return !truthy(a); },
    "!!": function (a) { return truthy(a); },
    "year": function (d) { return dateParts(d)[0]; },
    "month": function (d) { return dateParts(d)[1]; }
  };
  Object.keys(OPERATIONS).forEach(function (name) {
    jsonLogic.add_operation(name, OPERATIONS[name]);
  });
  // `if`, `and` and `or` are walked by json-logic-js itself; they ask this for truthiness.
  jsonLogic.truthy = truthy;

  /** The logic as the browser runs it: `and`/`or` give true/false, as Python's all/any. */
  function prepared(node) {
    if (Array.isArray(node)) { return node.map(prepared); }
    if (!isMapping(node)) { return node; }
    var out = {};
    Object.keys(node).forEach(function (k) { out[k] = prepared(node[k]); });
    var keys = Object.keys(node);
    if (keys.length === 1 && (keys[0] === "and" || keys[0] === "or")) { return {"!!": [out]}; }
    return out;
  }

  /** true / false, or null when the rule is not judged. */
  function judge(rule, data) {
    if (!rule._logic) { rule._logic = prepared(rule.logic); }
    try {
      return truthy(jsonLogic.apply(rule._logic, data));
    } catch (e) {
      if (e instanceof Missing) { return null; }
      throw e;
    }
  }

  // -- the server's words (engine/forms/validate.py) ---------------------------------------

  function group(digits) { return digits.replace(/\B(?=(\d{3})+(?!\d))/g, "."); }

  function showNumber(v) {
    if (Number.isNaN(v)) { return "nan"; }
    if (!Number.isFinite(v)) { return v < 0 ? "-inf" : "inf"; }
    var sign = v < 0 ? "-" : "", x = Math.abs(v);
    if (Number.isInteger(x)) { // Python: a whole float is shown as an int, 1.234.567
      return sign + group(x < 1e21 ? String(x) : BigInt(x).toString());
    }
    var fixed, eighths = x * 8;
    if (Number.isInteger(eighths) && eighths % 2 === 1) {
      // an exact tie at two decimals (x.125, x.375, ...): Python rounds half to even,
      // toFixed half up
      var n = Math.floor(x * 100);
      if (n % 2 === 1) { n += 1; }
      var s = String(n);
      while (s.length < 3) { s = "0" + s; }
      fixed = s.slice(0, -2) + "." + s.slice(-2);
    } else {
      fixed = x.toFixed(2);
    }
    var parts = fixed.replace(/0+$/, "").replace(/\.$/, "").split(".");
    return sign + group(parts[0]) + (parts[1] ? "," + parts[1] : "");
  }

  function pyJson(v) { // json.dumps(v, ensure_ascii=False)
    if (v === null || v === undefined) { return "null"; }
    if (typeof v === "boolean") { return v ? "true" : "false"; }
    if (typeof v === "number") {
      if (Number.isNaN(v)) { return "NaN"; }
      if (!Number.isFinite(v)) { return v < 0 ? "-Infinity" : "Infinity"; }
      return String(v);
    }
    if (typeof v === "string") { return JSON.stringify(v); }
    if (Array.isArray(v)) { return "[" + v.map(pyJson).join(", ") + "]"; }
    return "{" + Object.keys(v).map(function (k) {
      return JSON.stringify(k) + ": " + pyJson(v[k]);
    }).join(", ") + "}";
  }

  function first60(s) {
    var cps = codePoints(s);
    return cps.length > 60 ? cps.slice(0, 60).join("") : s;
  }

  /** validate._shown: a value as a message shows it. */
  function shown(v) {
    if (typeof v === "boolean") { return v ? "ya" : "tidak"; }
    if (v !== null && typeof v === "object") { return first60(pyJson(v)); }
    if (typeof v === "number") { return showNumber(v); }
    return "'" + first60(v === null || v === undefined ? "None" : String(v)) + "'";
  }

  var WORDS = {"<=": "melebihi", "<": "tidak kurang dari", ">=": "kurang dari",
               ">": "tidak lebih dari", "==": "tidak sama dengan", "!=": "sama dengan"};

  function term(node, labels, values) { // validate._term
    if (isMapping(node) && has(node, "var")) {
      var name = typeof node["var"] === "string" ? node["var"] : node["var"][0];
      return [has(labels, name) ? labels[name] : name, get(values, name)];
    }
    if (isMapping(node) && has(node, "+")) {
      var args = node["+"];
      if (isMapping(args)) {
        args = Object.keys(args);
      } else if (!Array.isArray(args)) {
        return null;
      }
      var terms = args.map(function (n) { return term(n, labels, values); });
      var ok = terms.every(function (t) {
        return t !== null && (typeof t[1] === "number" || typeof t[1] === "boolean");
      });
      if (!ok) { return null; }
      return [terms.map(function (t) { return t[0]; }).join(" + "),
              terms.reduce(function (sum, t) { return sum + Number(t[1]); }, 0)];
    }
    if (typeof node === "number") { return [shown(node), node]; }
    return null;
  }

  /** validate.explain: what a broken rule means, with the values. */
  function explain(rule, labels, values) {
    if (rule.message) {
      var text = rule.message;
      rule.fields.forEach(function (name) {
        text = text.split("{" + name + "}").join(shown(get(values, name)));
      });
      return text;
    }
    var check = rule.logic;
    if (isMapping(check) && Object.keys(check).length === 1) {
      var symbol = Object.keys(check)[0], args = check[symbol];
      if (has(WORDS, symbol) && Array.isArray(args) && args.length === 2) {
        var left = term(args[0], labels, values), right = term(args[1], labels, values);
        if (left && right) {
          return left[0] + " (" + shown(left[1]) + ") " + WORDS[symbol] + " " + right[0] +
            " (" + shown(right[1]) + ")";
        }
      }
    }
    var listed = rule.fields.slice().sort().map(function (n) {
      return (has(labels, n) ? labels[n] : n) + " = " + shown(get(values, n));
    });
    return "aturan " + rule.id + " tidak terpenuhi (" + listed.join(", ") + ")";
  }

  // -- the spec, indexed once --------------------------------------------------------------

  function indexed(spec) {
    if (spec._index) { return spec._index; }
    var sections = {}, docLabels = {};
    spec.sections.forEach(function (s) {
      var labels = {};
      Object.keys(s.fields).forEach(function (name) {
        labels[name] = s.fields[name].label;
        docLabels[s.name + "." + name] = s.fields[name].label;
      });
      sections[s.name] = {spec: s, labels: labels, rules: []};
    });
    var docRules = [];
    spec.rules.forEach(function (rule) {
      if (rule.section === null || rule.section === undefined) { docRules.push(rule); }
      else if (has(sections, rule.section)) { sections[rule.section].rules.push(rule); }
    });
    spec._index = {sections: sections, docLabels: docLabels, docRules: docRules};
    return spec._index;
  }

  /** validate._Where.row: how a row is named. */
  function rowLabel(spec, section, key) {
    if (section.kind === PER_REGION) {
      return has(spec.rows, String(key)) ? spec.rows[String(key)] : "kode wilayah " + key;
    }
    if (section.kind === ROWS && typeof key === "number") {
      return section.title + " baris " + (key + 1);
    }
    return section.title;
  }

  /** validate._rows: [key, row] of a section's value. */
  function rowsOf(section, value) {
    var out = [];
    if (section.kind === PER_REGION && isMapping(value)) {
      Object.keys(value).forEach(function (k) {
        if (isMapping(value[k])) { out.push([k, value[k]]); }
      });
    } else if (section.kind === ROWS && Array.isArray(value)) {
      value.forEach(function (r, i) { if (isMapping(r)) { out.push([i, r]); } });
    } else if (section.kind !== PER_REGION && section.kind !== ROWS && isMapping(value)) {
      out.push([null, value]);
    }
    return out;
  }

  function cycle(spec) {
    var c = {}; c[CYCLE] = {tahun: spec.year === undefined ? null : spec.year};
    return c;
  }

  function problem(severity, spec, message, section, row, fields, rule) {
    return {severity: severity, form: spec.form, section: section, row: row,
            fields: fields, rule: rule, message: message};
  }

  /** The row rules of one row (key: region code, 0-based index, or null); ``rules``: the
   *  section's rules unless given. */
  function rowRuleProblems(spec, sectionName, key, row, rules) {
    var idx = indexed(spec), entry = idx.sections[sectionName], out = [];
    rules = rules || (entry && entry.rules) || [];
    if (!entry || !rules.length) { return out; }
    var data = Object.assign({}, row, cycle(spec));
    var shownRow = typeof key === "number" ? key + 1 : key;
    rules.forEach(function (rule) {
      if (judge(rule, data) === false) {
        out.push(problem(rule.severity, spec,
          rowLabel(spec, entry.spec, key) + ": " + explain(rule, entry.labels, row),
          sectionName, shownRow, rule.fields.slice(), rule.id));
      }
    });
    return out;
  }

  function docGet(doc, path) { // validate._get
    var dot = path.indexOf("."), section = dot < 0 ? path : path.slice(0, dot);
    var name = dot < 0 ? "" : path.slice(dot + 1), value = get(doc, section);
    return isMapping(value) ? get(value, name) : null;
  }

  /** The document rules (vars "section.field"), judged on the whole document. */
  function docRuleProblems(spec, doc, rules) {
    var idx = indexed(spec), out = [];
    rules = rules || idx.docRules;
    if (!rules.length) { return out; }
    var data = Object.assign({}, doc, cycle(spec));
    rules.forEach(function (rule) {
      if (judge(rule, data) !== false) { return; }
      var values = {};
      rule.fields.forEach(function (n) { values[n] = docGet(doc, n); });
      var first = rule.fields.length ? rule.fields.slice().sort()[0].split(".")[0] : null;
      var fields = rule.fields.filter(function (n) { return n.indexOf(".") >= 0; })
        .map(function (n) { return n.slice(n.indexOf(".") + 1); }).sort();
      var section = first !== null && has(idx.sections, first) ? idx.sections[first].spec : null;
      var head = section ? section.title : spec.title;
      out.push(problem(rule.severity, spec, head + ": " + explain(rule, idx.docLabels, values),
                       first, null, fields, rule.id));
    });
    return out;
  }

  // -- rows that must differ (validate._unique_problems) ------------------------------------

  function isEmpty(v) {
    return v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0);
  }

  /** validate._alike, as a key: texts without case and extra spaces, lists item by item,
   *  numbers (and true/false, Python's 1/0) as numbers. */
  function alike(v) {
    if (typeof v === "string") {
      return "s" + v.split(/\s+/).filter(Boolean).join(" ").toUpperCase().toLowerCase();
    }
    if (Array.isArray(v)) { return "l" + JSON.stringify(v.map(alike)); }
    if (isMapping(v)) { return "d" + pyJson(sortedKeys(v)); }
    if (typeof v === "number" || typeof v === "boolean") { return "n" + Number(v); }
    return "o" + String(v);
  }

  function sortedKeys(v) {
    if (Array.isArray(v)) { return v.map(sortedKeys); }
    if (!isMapping(v)) { return v; }
    var out = {};
    Object.keys(v).sort().forEach(function (k) { out[k] = sortedKeys(v[k]); });
    return out;
  }

  function asTyped(section, name, v) { // validate._as_typed
    var f = has(section.fields, name) ? section.fields[name] : null;
    if (f && f.kind === "enum" && typeof v === "string") {
      return shown(f.labels && has(f.labels, v) ? f.labels[v] : v);
    }
    if (f && f.kind === "year" && typeof v === "number") {
      var whole = Math.trunc(v);
      return Math.abs(whole) < 1e21 ? String(whole) : BigInt(whole).toString();
    }
    return shown(v);
  }

  /** A row alike an earlier one in every field of a unique rule: a problem on the later row. */
  function uniqueProblems(spec, doc, rules) {
    var idx = indexed(spec), out = [];
    (rules || spec.unique || []).forEach(function (u) {
      if (!has(idx.sections, u.section)) { return; }
      var section = idx.sections[u.section].spec, first = {};
      rowsOf(section, get(doc, section.name)).forEach(function (kr) {
        var key = kr[0], row = kr[1];
        var values = u.fields.map(function (n) { return get(row, n); });
        if (values.some(isEmpty)) { return; }
        var id = JSON.stringify(values.map(alike));
        if (!has(first, id)) { first[id] = key; return; }
        var seen = first[id], text;
        if (u.message) {
          text = u.message;
          u.fields.forEach(function (n) {
            text = text.split("{" + n + "}").join(shown(get(row, n)));
          });
        } else {
          var listed = u.fields.map(function (n, i) {
            var label = has(section.fields, n) ? section.fields[n].label : "«" + n + "»";
            return label + " " + asTyped(section, n, values[i]);
          });
          var earlier = typeof seen === "number" ? "baris " + (seen + 1)
            : rowLabel(spec, section, seen);
          text = "sama dengan " + earlier + " (" + listed.join(", ") + ")";
        }
        out.push(problem(u.severity, spec, rowLabel(spec, section, key) + ": " + text,
                         section.name, typeof key === "number" ? key + 1 : key,
                         u.fields.slice().sort(), u.id));
      });
    });
    return out;
  }

  // The schema keywords of one input (validate._reason, the same words).
  var KINDS = {"integer": "bilangan bulat", "number": "angka", "string": "teks",
               "boolean": "ya/tidak", "object": "isian bertingkat", "array": "daftar",
               "null": "kosong"};

  function isType(v, t) { // jsonschema's Draft 2020-12 types
    switch (t) {
      case "integer": return typeof v === "number" && Number.isInteger(v);
      case "number": return typeof v === "number";
      case "string": return typeof v === "string";
      case "boolean": return typeof v === "boolean";
      case "null": return v === null;
      case "array": return Array.isArray(v);
      case "object": return isMapping(v);
      default: return true;
    }
  }

  /** jsonschema's equality of JSON values (true is not 1, 1 is 1.0). */
  function sameJson(a, b) {
    if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b)) { return false; }
    if (Array.isArray(a)) {
      return a.length === b.length && a.every(function (x, i) { return sameJson(x, b[i]); });
    }
    if (isMapping(a)) {
      var ka = Object.keys(a);
      return ka.length === Object.keys(b).length && ka.every(function (k) {
        return has(b, k) && sameJson(a[k], b[k]);
      });
    }
    return a === b;
  }

  function inEnum(values, v) { return values.some(function (e) { return sameJson(e, v); }); }

  /** The ``enum`` and ``const`` of a value's schema (validate._reason's words). */
  function valueReasons(f, v) {
    var out = [];
    if (has(f, "enum") && !inEnum(f.enum, v)) { out.push("pilihan " + shown(v) + " tidak dikenal"); }
    if (has(f, "const") && !sameJson(f.const, v)) { out.push("harus " + shown(f.const)); }
    return out;
  }

  function fieldReasons(f, v) {
    var out = [];
    if (v === undefined) { return out; }
    if (has(f, "type")) {
      var types = Array.isArray(f.type) ? f.type : [f.type];
      if (!types.some(function (t) { return isType(v, t); })) {
        out.push("harus " + types.map(function (t) { return has(KINDS, t) ? KINDS[t] : t; })
          .join(" atau ") + ", bukan " + shown(v));
        return out.concat(valueReasons(f, v)); // the bounds judge only numbers, length text
      }
    }
    out = out.concat(valueReasons(f, v));
    if (typeof v === "number") {
      if (has(f, "minimum") && v < f.minimum) {
        out.push("tidak boleh kurang dari " + shown(f.minimum) + " (terisi " + shown(v) + ")");
      }
      if (has(f, "maximum") && v > f.maximum) {
        out.push("tidak boleh lebih dari " + shown(f.maximum) + " (terisi " + shown(v) + ")");
      }
      if (has(f, "exclusiveMinimum") && v <= f.exclusiveMinimum) {
        out.push("harus lebih dari " + shown(f.exclusiveMinimum) + " (terisi " + shown(v) + ")");
      }
      if (has(f, "exclusiveMaximum") && v >= f.exclusiveMaximum) {
        out.push("harus kurang dari " + shown(f.exclusiveMaximum) + " (terisi " + shown(v) + ")");
      }
    }
    if (typeof v === "string" && has(f, "maxLength") && codePoints(v).length > f.maxLength) {
      out.push("terlalu panjang: paling banyak " + f.maxLength + " karakter");
    }
    return out;
  }

  /** Does ``row`` satisfy an ``if`` of ``properties`` (enum, const) and ``required``? */
  function satisfies(schema, row) {
    if (!isMapping(row)) { return true; } // both keywords judge objects only
    var props = schema.properties || {};
    return (schema.required || []).every(function (n) { return has(row, n); }) &&
      Object.keys(props).every(function (n) {
        return !has(row, n) || valueReasons(props[n], row[n]).length === 0;
      });
  }

  /** Problems of the cells of one row by the schema keywords each input carries, and the
   *  ``then`` of each ``if`` of the row's schema the row meets (client_rules._conditions). */
  function rowFieldProblems(spec, sectionName, key, row) {
    var idx = indexed(spec), entry = idx.sections[sectionName], out = [];
    if (!entry || !isMapping(row)) { return out; }
    var shownRow = typeof key === "number" ? key + 1 : key, head = rowLabel(spec, entry.spec, key);
    function add(name, reason) {
      var label = has(entry.spec.fields, name) ? entry.spec.fields[name].label : "«" + name + "»";
      out.push(problem(ERROR, spec, head + ": " + label + ": " + reason, sectionName,
                       shownRow, [name], null));
    }
    Object.keys(row).forEach(function (name) {
      var f = entry.spec.fields[name];
      if (!f || row[name] === null) { return; } // null: not filled (draft)
      fieldReasons(f, row[name]).forEach(function (reason) { add(name, reason); });
    });
    (entry.spec.conditions || []).forEach(function (c) {
      if (!satisfies(c["if"], row)) { return; }
      var props = c.then.properties || {};
      Object.keys(props).forEach(function (name) {
        if (!has(row, name)) { return; }
        valueReasons(props[name], row[name]).forEach(function (reason) { add(name, reason); });
      });
      (c.then.required || []).forEach(function (name) {
        if (!has(row, name)) { add(name, "belum diisi"); }
      });
    });
    return out;
  }

  // -- year over year (validate._jump_problems) ---------------------------------------------

  var WARNING = "warning", JUMP = "tahun-ke-tahun";

  /** Python's f"{x:.1f}": toFixed rounds an exact tie (x.25, x.75) half up, Python to even. */
  function oneDecimal(x) {
    var sign = x < 0 || Object.is(x, -0) ? "-" : "", a = Math.abs(x);
    if (a >= 1e21) { return sign + BigInt(a).toString() + ".0"; }
    var quarters = a * 4;
    if (Number.isInteger(quarters) && quarters % 2 === 1) {
      var n = Math.floor(a * 10);
      if (n % 2 === 1) { n += 1; }
      return sign + Math.floor(n / 10) + "." + (n % 10);
    }
    return sign + a.toFixed(1);
  }

  /** The jumps of one row of a per-region section against last year's row ``before``
   *  (``jumps``: the section's year_over_year entries unless given). */
  function rowJumpProblems(spec, sectionName, key, row, before, jumps) {
    var idx = indexed(spec), entry = idx.sections[sectionName], out = [];
    if (!entry || entry.spec.kind !== PER_REGION || !isMapping(row) || !isMapping(before)) {
      return out;
    }
    (jumps || spec.year_over_year || []).forEach(function (yoy) {
      if (yoy.section !== sectionName) { return; }
      yoy.fields.forEach(function (name) {
        var value = get(row, name), last = get(before, name);
        if (typeof value !== "number" || typeof last !== "number" || last <= 0) { return; }
        if (!(value > last * yoy.factor || value * yoy.factor < last)) { return; }
        var label = has(entry.spec.fields, name) ? entry.spec.fields[name].label : "«" + name + "»";
        out.push(problem(WARNING, spec, rowLabel(spec, entry.spec, key) + ": " + label + " " +
          shown(value) + ", tahun lalu " + shown(last) + " (" +
          oneDecimal(value / last).replace(".", ",") + "× tahun lalu); periksa kembali",
          sectionName, key, [name], JUMP));
      });
    });
    return out;
  }

  /** Every jump of ``doc`` against last year's document ``previous`` (yoy by yoy, row by
   *  row, as the server). */
  function jumpProblems(spec, doc, previous) {
    var idx = indexed(spec), out = [];
    if (!previous) { return out; }
    (spec.year_over_year || []).forEach(function (yoy) {
      if (!has(idx.sections, yoy.section)) { return; }
      var section = idx.sections[yoy.section].spec, now = get(doc, section.name),
        before = get(previous, section.name);
      if (section.kind !== PER_REGION || !isMapping(now) || !isMapping(before)) { return; }
      rowsOf(section, now).forEach(function (kr) {
        out = out.concat(rowJumpProblems(spec, section.name, kr[0], kr[1], get(before, kr[0]),
                                         [yoy]));
      });
    });
    return out;
  }

  function errorsFirst(problems) {
    return problems.filter(function (p) { return p.severity === ERROR; })
      .concat(problems.filter(function (p) { return p.severity !== ERROR; }));
  }

  /** Every problem the browser finds in ``doc``, in the server's order: the schema
   *  keywords of the inputs, then the rules (rule by rule, row by row), then the rows that
   *  must differ, then the jumps from last year's document ``previous`` (optional);
   *  errors first. */
  function check(spec, doc, previous) {
    var idx = indexed(spec), fieldProblems = [], ruleProblems = [];
    spec.sections.forEach(function (s) {
      rowsOf(s, get(doc, s.name)).forEach(function (kr) {
        fieldProblems = fieldProblems.concat(rowFieldProblems(spec, s.name, kr[0], kr[1]));
      });
    });
    spec.rules.forEach(function (rule) { // rule by rule, then row by row, as the server
      if (rule.section === null || rule.section === undefined) {
        ruleProblems = ruleProblems.concat(docRuleProblems(spec, doc, [rule]));
      } else if (has(idx.sections, rule.section)) {
        var s = idx.sections[rule.section].spec;
        rowsOf(s, get(doc, s.name)).forEach(function (kr) {
          ruleProblems = ruleProblems.concat(rowRuleProblems(spec, s.name, kr[0], kr[1], [rule]));
        });
      }
    });
    return errorsFirst(fieldProblems.concat(ruleProblems, uniqueProblems(spec, doc),
                                            jumpProblems(spec, doc, previous)));
  }

  // -- reading what is typed ---------------------------------------------------------------

  // What the page's own post becomes (engine/web/form_entry.py parse_value and
  // parse_number, Babel's strict Indonesian reading): the browser judges what a save would
  // send. A dot groups thousands ("1.234.567", never "1.5"), a comma is the decimal mark
  // ("12,5"), "Rp" may lead; without a dot the text is read as Python's Decimal reads it
  // (underscores dropped, an exponent allowed, any script's digits).
  var WHOLE_GROUPED = /^-?\d{1,3}(?:\.\d{3})+$/;
  var GROUPED = /^-?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?$/;
  var DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
  var ND = /\p{Nd}/u;

  function asciiDigits(text) { // a digit of any script as its value (runs of ten, 0 first)
    return text.replace(/\p{Nd}/gu, function (ch) {
      var cp = ch.codePointAt(0), start = cp;
      while (cp - start < 60 && ND.test(String.fromCodePoint(start - 1))) { start -= 1; }
      return String((cp - start) % 10);
    });
  }

  /** A typed number as a number, or null when it is not one. */
  function parseNumber(text) {
    var t = String(text).split(/\s+/).join("").replace(/\u00a0/g, "");
    if (t.slice(0, 2).toLowerCase() === "rp") { t = t.slice(2); }
    var plain;
    if (WHOLE_GROUPED.test(t)) {
      plain = t.replace(/\./g, "");
    } else if (t.indexOf(".") >= 0) {
      if (!GROUPED.test(t)) { return null; }
      plain = t.replace(/\./g, "").replace(",", ".");
    } else {
      plain = asciiDigits(t.split(",").join(".").replace(/_/g, ""));
      if (!DECIMAL.test(plain)) { return null; }
    }
    var n = Number(plain);
    return Number.isFinite(n) ? n : null;
  }

  var NUMERIC = {count: 1, integer: 1, number: 1, percent: 1, rupiah: 1, year: 1};

  /** A text as the field's value, as the page's post reads it: null when empty; a number
   *  for a numeric field when it reads as one (else the text, which the type check then
   *  names); true/false for "ya"/"tidak" of a yes-no field; else the text, trimmed. */
  function valueOfText(f, text) {
    var t = String(text).trim();
    if (t === "") { return null; }
    if (f && has(NUMERIC, f.kind)) {
      var n = parseNumber(t);
      return n === null ? t : n;
    }
    if (f && f.kind === "yes-no") {
      var k = t.toLowerCase();
      return k === "ya" ? true : (k === "tidak" ? false : t);
    }
    return t;
  }

  /** A `data-value` attribute: the value as JSON (Jinja's |tojson), or plain text. */
  function valueOfData(f, raw) {
    if (raw === null) { return null; }
    var v;
    try { v = JSON.parse(raw); } catch (e) { return valueOfText(f, raw); }
    if (typeof v === "string") { return valueOfText(f, v); }
    if (typeof v === "number" && f && !has(NUMERIC, f.kind) && f.kind !== "any") {
      return valueOfText(f, raw); // a text field whose text looks like a number
    }
    return v;
  }

  function typeOf(input) { return (input.type || "").toLowerCase(); }

  /** A cell's value from its inputs: checkboxes (a yes-no one, perhaps with a hidden
   *  companion carrying the unticked value; or a multi choice), radio buttons, a select,
   *  a number input, or text typed the Indonesian way. */
  function readInputs(f, inputs) {
    var boxes = inputs.filter(function (i) { return typeOf(i) === "checkbox"; });
    var radios = inputs.filter(function (i) { return typeOf(i) === "radio"; });
    var others = inputs.filter(function (i) {
      return typeOf(i) !== "checkbox" && typeOf(i) !== "radio";
    });
    if (boxes.length) {
      var ticked = boxes.filter(function (i) { return i.checked; });
      if (f && f.kind === "multi") {
        return ticked.length ? ticked.map(function (i) { return i.value; }) : null;
      }
      if (ticked.length) { return true; }
      return others.length ? valueOfText(f, others[0].value) : false;
    }
    if (radios.length) {
      var on = radios.filter(function (i) { return i.checked; })[0];
      return on ? valueOfText(f, on.value) : null;
    }
    var first = others[0];
    if (first.tagName === "SELECT" && first.multiple) {
      var chosen = Array.prototype.filter.call(first.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; });
      return chosen.length ? chosen : null;
    }
    if (typeOf(first) === "number") { // the browser has read the number already
      return first.value === "" ? null : Number(first.value);
    }
    return valueOfText(f, first.value);
  }

  // -- the form on the page ----------------------------------------------------------------
  //
  // The page's contract (docs: helper guide, "Shared contracts of the stage page"):
  //   - an input of a cell is named FORM/SECTION/ROW/FIELD (ROW: region code, 1-based row
  //     number, or "-"); a cell shown without an input (another unit's, computed) is an
  //     element with data-cell="<key>" and data-value="<the value as JSON>";
  //   - [data-problems-for="<key>"] holds the cell's messages: the server's, and the ones
  //     this script adds (marked data-aksi="<rule id>" or "skema"). A server message whose
  //     text (or data-message) is one the browser has said is taken as the browser's own:
  //     shown while the browser still finds it, hidden once the row is put right. Other
  //     server messages (regions, last year, review notes) are left alone;
  //   - [data-aksi-summary="FORM"] lists every message with a link to its cell's input.
  // A rule's message goes to the first field it reads (in the rule's order: the served
  // count of a coverage pair) that has a message box; every input the rule reads gets
  // aria-invalid while the rule is broken with severity error. An input the server marked
  // aria-invalid keeps the mark while its box shows a server message the browser does not
  // judge (a region, last year's value); once only the browser's judgements are left,
  // they decide.

  var DELAY = 150; // ms of quiet typing before a row is judged again

  function slug(key) { return "aksi-" + key.replace(/[^A-Za-z0-9_-]/g, "_"); }

  function textOf(el) { return (el.getAttribute("data-message") || el.textContent || "").trim(); }

  /** The vars of a rule in the order its logic reads them. */
  function readingOrder(rule) {
    if (!rule.logic) { return rule.fields; } // a unique rule: its fields, in its order
    if (!rule._order) {
      var seen = [];
      (function walk(n) {
        if (Array.isArray(n)) { n.forEach(walk); return; }
        if (!isMapping(n)) { return; }
        Object.keys(n).forEach(function (k) {
          if (k !== "var") { walk(n[k]); return; }
          var v = typeof n[k] === "string" ? n[k] : (Array.isArray(n[k]) ? n[k][0] : null);
          if (typeof v === "string" && seen.indexOf(v) < 0) { seen.push(v); }
        });
      })(rule.logic);
      rule._order = seen;
    }
    return rule._order;
  }

  function show(item, visible) { if (item.hidden === visible) { item.hidden = !visible; } }

  function signature(problems) {
    return problems.map(function (p) { return p.severity + " " + p.message; }).join("\n");
  }

  /** Put ``problems`` as the browser's messages in ``box`` (its own, data-aksi, only). */
  function replaceOwn(box, problems, tag) {
    var own = Array.prototype.filter.call(box.children, function (item) {
      return item.hasAttribute("data-aksi");
    });
    var had = own.map(function (item) {
      return item.getAttribute("data-aksi-severity") + " " + item.textContent;
    }).join("\n");
    if (had === signature(problems)) { return; }
    own.forEach(function (item) { box.removeChild(item); });
    problems.forEach(function (p) {
      var item = messageItem(tag, p);
      item.textContent = p.message;
      box.appendChild(item);
    });
  }

  /** A message as the server's form macros write one (class pe: error, pw: warning). */
  function messageItem(tag, p) {
    var item = document.createElement(tag);
    item.setAttribute("data-aksi", p.rule || "skema");
    item.setAttribute("data-aksi-severity", p.severity);
    item.className = p.severity === ERROR ? "pe" : "pw";
    return item;
  }

  function attach(element, spec) {
    if (!element || !spec || !Array.isArray(spec.rules) || !Array.isArray(spec.sections)) {
      return null;
    }
    var idx = indexed(spec), prefix = spec.form + "/";
    var cells = {};   // cell key -> {key, section, row, field, inputs[], holder, box, order}
    var rows = {};    // scope id (section + "\n" + row) -> {section, row, keys[]}
    var order = 0;
    var doc = {};     // the document as the page holds it, kept up to date row by row
    var ruleById = {};
    spec.rules.concat(spec.unique || []).forEach(function (r) { ruleById[r.id] = r; });
    var uniqueSections = {};
    (spec.unique || []).forEach(function (u) { uniqueSections[u.section] = true; });

    function keyOf(section, row, field) { return prefix + section + "/" + row + "/" + field; }

    function cellOf(key) {
      if (has(cells, key)) { return cells[key]; }
      var p = key.split("/");
      if (p.length !== 4 || p[0] !== spec.form || !has(idx.sections, p[1]) ||
          !has(idx.sections[p[1]].spec.fields, p[3])) { return null; }
      var scope = p[1] + "\n" + p[2];
      if (!has(rows, scope)) { rows[scope] = {section: p[1], row: p[2], keys: []}; }
      rows[scope].keys.push(key);
      cells[key] = {key: key, section: p[1], row: p[2], field: p[3], inputs: [], holder: null,
                    box: null, order: order++};
      return cells[key];
    }

    function each(selector, attribute, use) {
      Array.prototype.forEach.call(element.querySelectorAll(selector), function (el) {
        var key = attribute ? el.getAttribute(attribute) : el.name;
        var c = typeof key === "string" && key.indexOf(prefix) === 0 ? cellOf(key) : null;
        if (c) { use(c, el); }
      });
    }

    /** Find the form's cells on the page (again: rows are added, removed, renumbered). */
    function scan() {
      cells = {}; rows = {}; order = 0; doc = {};
      each("[name]", null, function (c, el) {
        c.inputs.push(el);
        // invalid by the server's word: stays so while the server's own messages stand
        if (el.getAttribute("aria-invalid") === "true" && !el.hasAttribute("data-aksi-invalid")) {
          c.serverInvalid = true;
        }
      });
      each("[data-cell]", "data-cell", function (c, el) {
        c.holder = el;
        var small = el.querySelector("small"); // last year's value, as the server shows it
        c.last = small ? small.textContent : null;
      });
      each("[data-problems-for]", "data-problems-for", function (c, el) { c.box = el; });
    }
    scan();

    function read(c) {
      var f = idx.sections[c.section].spec.fields[c.field];
      if (f && f.kind === "file") {
        // its inputs are a hidden hash and a file chooser, not the value: the stored file
        // is the cell's data-value (none: the cell is not judged here; the server checks it)
        return c.holder && c.holder.hasAttribute("data-value")
          ? valueOfData(f, c.holder.getAttribute("data-value")) : undefined;
      }
      if (c.inputs.length) { return readInputs(f, c.inputs); }
      if (c.holder && c.holder.hasAttribute("data-value")) {
        return valueOfData(f, c.holder.getAttribute("data-value"));
      }
      return null;
    }
    /** Re-read a row from the page; [its key as the checker takes it, its value]. */
    function readRow(r) {
      var s = idx.sections[r.section].spec, value = {};
      r.keys.forEach(function (key) {
        var v = read(cells[key]);
        if (v !== null && v !== undefined) { value[cells[key].field] = v; }
      });
      if (s.kind === PER_REGION) {
        doc[s.name] = doc[s.name] || {};
        doc[s.name][r.row] = value;
        return [r.row, value];
      }
      if (s.kind === ROWS) {
        var i = parseInt(r.row, 10) - 1;
        doc[s.name] = doc[s.name] || [];
        if (i >= 0) { doc[s.name][i] = value; }
        return [i, value];
      }
      doc[s.name] = value;
      return [null, value];
    }

    /** Last year's values of a row, read from the page. */
    function lastRow(r) {
      var fields = idx.sections[r.section].spec.fields, out = {};
      r.keys.forEach(function (key) {
        var c = cells[key], v = c.last ? valueOfText(fields[c.field], c.last) : null;
        if (typeof v === "number") { out[c.field] = v; }
      });
      return out;
    }

    /** A problem with the cells it is about and the cell its message goes to. */
    function placed(p, rowText) {
      var rule = p.rule === null ? null : ruleById[p.rule];
      var keys = [];
      if (rule && (rule.section === null || rule.section === undefined)) {
        readingOrder(rule).forEach(function (n) {
          var dot = n.indexOf(".");
          if (dot > 0 && n.slice(0, dot) !== CYCLE) {
            keys.push(keyOf(n.slice(0, dot), "-", n.slice(dot + 1)));
          }
        });
      } else {
        var names = !rule ? p.fields : readingOrder(rule).filter(function (n) {
          return p.fields.indexOf(n) >= 0;
        });
        names.forEach(function (n) { keys.push(keyOf(p.section, rowText, n)); });
      }
      keys = keys.filter(function (k) { return has(cells, k); });
      var target = keys.filter(function (k) { return cells[k].box; })[0] || keys[0] || null;
      return {p: p, target: target, keys: keys};
    }

    var docSections = {};
    idx.docRules.forEach(function (rule) {
      (rule.sections || []).forEach(function (s) { docSections[s] = true; });
    });
    function docKeys() {
      var keys = [];
      idx.docRules.forEach(function (rule) {
        placed({rule: rule.id, fields: []}, "-").keys.forEach(function (k) {
          if (keys.indexOf(k) < 0) { keys.push(k); }
        });
      });
      return keys;
    }

    function uniqueKeys() { // the cells the unique rules compare, in every row
      var keys = [];
      (spec.unique || []).forEach(function (u) {
        Object.keys(rows).forEach(function (scope) {
          if (rows[scope].section !== u.section) { return; }
          u.fields.forEach(function (n) {
            var k = keyOf(u.section, rows[scope].row, n);
            if (has(cells, k)) { keys.push(k); }
          });
        });
      });
      return keys;
    }

    var results = {};  // scope -> placed problems
    var known = {};    // every message the browser has said
    var flagged = {};  // scope -> cell keys it marked invalid
    var invalid = {};  // cell key -> number of scopes marking it invalid

    function judgeScope(scope) {
      if (scope === "doc") {
        return docRuleProblems(spec, doc).map(function (p) { return placed(p, "-"); });
      }
      if (scope === "unique") {
        return uniqueProblems(spec, doc).map(function (p) { return placed(p, String(p.row)); });
      }
      var r = rows[scope], kv = readRow(r);
      return rowFieldProblems(spec, r.section, kv[0], kv[1])
        .concat(rowRuleProblems(spec, r.section, kv[0], kv[1]),
                rowJumpProblems(spec, r.section, kv[0], kv[1], lastRow(r)))
        .map(function (p) { return placed(p, r.row); });
    }

    function render(scopes) {
      var touched = {}, current = {}, satisfied = {};
      scopes.forEach(function (scope) {
        var keys = scope === "doc" ? docKeys()
          : (scope === "unique" ? uniqueKeys() : rows[scope].keys);
        keys.forEach(function (k) { touched[k] = true; });
      });
      var all = [];
      Object.keys(results).forEach(function (scope) { all = all.concat(results[scope]); });
      all.forEach(function (x) { current[x.p.message] = true; known[x.p.message] = true; });
      // 1. the server's messages in the touched boxes: shown while the browser still finds
      //    them, hidden once it does not
      Object.keys(touched).forEach(function (k) {
        var box = cells[k].box;
        if (!box) { return; }
        Array.prototype.forEach.call(box.children, function (item) {
          if (item.hasAttribute("data-aksi")) { return; }
          var text = textOf(item);
          if (has(current, text)) { show(item, true); satisfied[text] = true; }
          else if (has(known, text)) { show(item, false); }
        });
      });
      // 2. the browser's own messages, unless the server says them already; a box whose
      //    messages stay the same is not touched (screen readers announce live changes)
      var wanted = {};
      all.forEach(function (x) {
        if (!x.target || !has(touched, x.target) || !cells[x.target].box ||
            has(satisfied, x.p.message)) { return; }
        satisfied[x.p.message] = true;
        (wanted[x.target] = wanted[x.target] || []).push(x.p);
      });
      Object.keys(touched).forEach(function (k) {
        var box = cells[k].box;
        if (!box) { return; }
        replaceOwn(box, wanted[k] || [], /^(UL|OL)$/.test(box.tagName) ? "li" : "span");
      });
      // 3. aria-invalid: an input stays invalid while any scope finds an error on it
      scopes.forEach(function (scope) {
        (flagged[scope] || []).forEach(function (k) {
          invalid[k] -= 1;
          if (has(cells, k)) { touched[k] = true; }
        });
        flagged[scope] = [];
        (results[scope] || []).forEach(function (x) {
          if (x.p.severity !== ERROR) { return; }
          x.keys.forEach(function (k) {
            if (flagged[scope].indexOf(k) >= 0 || !has(cells, k)) { return; }
            flagged[scope].push(k);
            invalid[k] = (invalid[k] || 0) + 1;
            touched[k] = true;
          });
        });
      });
      Object.keys(touched).forEach(function (k) {
        var bad = invalid[k] > 0 || (cells[k].serverInvalid && serverSays(cells[k].box));
        cells[k].inputs.forEach(function (input) {
          if (bad) {
            input.setAttribute("aria-invalid", "true");
            input.setAttribute("data-aksi-invalid", "");
          } else if (input.hasAttribute("data-aksi-invalid")) {
            input.removeAttribute("aria-invalid");
            input.removeAttribute("data-aksi-invalid");
          }
        });
      });
      summarise(all, current);
    }

    /** Does a message box still show a server message the browser does not judge? */
    function serverSays(box) {
      return !!box && Array.prototype.some.call(box.children, function (item) {
        return !item.hidden && !item.hasAttribute("data-aksi") && !has(known, textOf(item));
      });
    }

    function anchorOf(key) {
      var c = cells[key], el = c.inputs[0] || c.holder;
      if (!el) { return null; }
      if (!el.id) { el.id = slug(key); }
      return el.id;
    }

    var summary = document.querySelector('[data-aksi-summary="' + spec.form + '"]');

    function summarise(all, current) {
      if (!summary) { return; }
      all = all.slice().sort(function (a, b) {
        var sa = a.p.severity === ERROR ? 0 : 1, sb = b.p.severity === ERROR ? 0 : 1;
        if (sa !== sb) { return sa - sb; }
        return (a.target ? cells[a.target].order : -1) - (b.target ? cells[b.target].order : -1);
      });
      var list = /^(UL|OL)$/.test(summary.tagName) ? summary : null, said = {}, own = [];
      Array.prototype.forEach.call(summary.querySelectorAll("li"), function (item) {
        if (item.hasAttribute("data-aksi")) { own.push(item); return; }
        var text = textOf(item);
        if (has(current, text)) { show(item, true); said[text] = true; }
        else if (has(known, text)) { show(item, false); }
        list = list || item.parentNode;
      });
      var mine = all.filter(function (x) {
        if (has(said, x.p.message)) { return false; }
        said[x.p.message] = true;
        return true;
      });
      var had = own.map(function (item) {
        return item.getAttribute("data-aksi-severity") + " " + item.textContent;
      }).join("\n");
      if (had !== signature(mine.map(function (x) { return x.p; }))) {
        own.forEach(function (item) { item.parentNode.removeChild(item); });
        if (!list) {
          list = summary.querySelector("[data-aksi-list]");
          if (!list) {
            list = document.createElement("ul");
            list.setAttribute("data-aksi-list", "");
            summary.appendChild(list);
          }
        }
        // errors at the top of the list (before the server's), warnings at the end
        var top = list.firstChild;
        mine.forEach(function (x) {
          var item = messageItem("li", x.p), id = x.target && anchorOf(x.target);
          var text = item;
          if (id) {
            text = document.createElement("a");
            text.href = "#" + id;
            item.appendChild(text);
          }
          text.textContent = x.p.message;
          list.insertBefore(item, x.p.severity === ERROR ? top : null);
        });
      }
      if (summary.hasAttribute("data-aksi-hide-empty")) {
        show(summary, Array.prototype.some.call(summary.querySelectorAll("li"),
          function (li) { return !li.hidden; }));
      }
      recount();
    }

    /** The summary's count line ([data-aksi-count], its numbers in [data-aksi-counts]) as
     *  the list now stands: its visible messages, and the server's beyond the list
     *  (data-more-errors, data-more-warnings); made when the server had none, hidden once
     *  nothing is wrong. */
    function recount() {
      var errors = Number(summary.getAttribute("data-more-errors")) || 0;
      var warnings = Number(summary.getAttribute("data-more-warnings")) || 0;
      Array.prototype.forEach.call(summary.querySelectorAll("li"), function (li) {
        if (li.hidden) { return; }
        if (li.classList.contains("pe")) { errors++; } else if (li.classList.contains("pw")) { warnings++; }
      });
      var line = summary.querySelector("[data-aksi-count]");
      if (!line) {
        if (!errors && !warnings) { return; }
        line = document.createElement("p");
        line.setAttribute("data-aksi-count", "");
        var title = document.createElement("strong");
        title.textContent = summary.getAttribute("data-title") || "";
        line.appendChild(title);
        line.appendChild(document.createTextNode(": "));
        var numbers = document.createElement("span");
        numbers.setAttribute("data-aksi-counts", "");
        line.appendChild(numbers);
        summary.insertBefore(line, summary.firstChild);
      }
      var counts = line.querySelector("[data-aksi-counts]") || line;
      var text = errors + " kesalahan, " + warnings + " peringatan";
      if (counts.textContent !== text) { counts.textContent = text; }
      show(line, errors + warnings > 0);
      summary.classList.toggle("warn", !errors && warnings > 0);
    }

    function evaluate(scopes) {
      try {
        scopes.forEach(function (scope) { results[scope] = judgeScope(scope); });
        render(scopes);
      } catch (e) {
        // a fault here must never stop the operator: the server checks on every save
        if (typeof console !== "undefined") { console.error("AksiRules:", e); }
      }
    }

    var dirty = {}, timer = null;
    function flush() {
      if (timer !== null) { clearTimeout(timer); }
      timer = null;
      var scopes = Object.keys(dirty).filter(function (s) { return has(rows, s); });
      dirty = {};
      var sections = scopes.map(function (s) { return rows[s].section; });
      if (sections.some(function (s) { return has(docSections, s); })) { scopes.push("doc"); }
      if (sections.some(function (s) { return has(uniqueSections, s); })) { scopes.push("unique"); }
      if (scopes.length) { evaluate(scopes); }
    }
    function changed(event) {
      var t = event.target, key = t && t.name;
      if (typeof key !== "string" || !has(cells, key)) { return; }
      dirty[cells[key].section + "\n" + cells[key].row] = true;
      if (event.type === "change") { flush(); return; }
      if (timer !== null) { clearTimeout(timer); }
      timer = setTimeout(flush, DELAY);
    }
    element.addEventListener("input", changed);
    element.addEventListener("change", changed);

    /** Every row (the document model first: document rules read across sections). */
    function everything() {
      results = {};
      Object.keys(flagged).forEach(function (scope) {
        (flagged[scope] || []).forEach(function (k) { invalid[k] -= 1; });
      });
      flagged = {};
      var scopes = Object.keys(rows);
      scopes.forEach(function (scope) { readRow(rows[scope]); });
      evaluate(scopes.concat(idx.docRules.length ? ["doc"] : [],
                             (spec.unique || []).length ? ["unique"] : []));
    }
    everything();

    // Rows added, removed or renumbered by the page's own script (forms.js "Tambah baris",
    // "Hapus"): find the cells again and judge everything once more.
    var rescan = null;
    function ours(node) {
      return node.nodeType === 1 && ((node.name && String(node.name).indexOf(prefix) === 0) ||
        !!(node.querySelector && node.querySelector('[name^="' + prefix + '"]')));
    }
    if (typeof MutationObserver !== "undefined") {
      new MutationObserver(function (records) {
        var moved = records.some(function (r) {
          return r.type === "attributes" || Array.prototype.some.call(r.addedNodes, ours) ||
            Array.prototype.some.call(r.removedNodes, ours);
        });
        if (moved && rescan === null) {
          rescan = setTimeout(function () { rescan = null; scan(); everything(); }, DELAY);
        }
      }).observe(element, {childList: true, subtree: true, attributes: true,
                           attributeFilter: ["name", "data-cell", "data-problems-for"]});
    }

    return {
      document: function () { return doc; },
      problems: function () {
        var out = [];
        Object.keys(results).forEach(function (s) {
          results[s].forEach(function (x) { out.push(x.p); });
        });
        return errorsFirst(out);
      },
      flush: flush
    };
  }

  /** validate.region_label: "Desa Air Anyir (19.01.01.2001)" (``name`` as the server
   *  writes it in the row header). */
  function regionLabel(code, name, kind) {
    if (kind === "desa") {
      var last = code.split(".").pop();
      kind = last.charAt(0) === "1" ? "Kelurahan" : "Desa";
    }
    return kind + " " + name + " (" + code + ")";
  }

  /** The labels of the per-region rows of ``form`` on the page: each row's header starts
   *  with the region's name (forms/macros.html, form_page.SectionView.region_body). */
  function rowsOnPage(root, form, kind) {
    var rows = {};
    var found = root.querySelectorAll('table[data-section^="' + form + '/"] tr[data-row]');
    Array.prototype.forEach.call(found, function (tr) {
      var th = tr.cells[0], first = th && th.firstChild;
      var name = first && first.nodeType === 3 ? first.nodeValue : "";
      if (name) { rows[tr.getAttribute("data-row")] = regionLabel(tr.getAttribute("data-row"), name, kind); }
    });
    return rows;
  }

  /** The whole spec of a stage page's context: the form's part fetched from ``src``. */
  function completed(root, context, done) {
    if (typeof fetch !== "function") { return; }
    fetch(context.src, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (part) {
        if (!part) { return; }
        done(Object.assign({}, part, {year: context.year,
          rows: rowsOnPage(root, context.form, context.row_kind)}));
      })
      .catch(function (e) {
        // no browser rules then: the server checks on every save
        if (typeof console !== "undefined") { console.error("AksiRules:", e); }
      });
  }

  /** Attach every <script type="application/json" data-aksi-rules="FORM"> in ``root``:
   *  to the <form> holding the form's cells, or the whole page when they are spread over
   *  several. A context-only spec ({src, ...}) is attached once its part has arrived. */
  function attachAll(root) {
    root = root || document;
    var attached = [];
    var scripts = root.querySelectorAll("script[data-aksi-rules]");
    Array.prototype.forEach.call(scripts, function (script) {
      if (script.hasAttribute("data-aksi-attached")) { return; }
      script.setAttribute("data-aksi-attached", "");
      var spec;
      try { spec = JSON.parse(script.textContent); } catch (e) { return; }
      var form = script.getAttribute("data-aksi-rules");
      var cellsOf = root.querySelectorAll('[name^="' + form + '/"], [data-cell^="' + form + '/"]');
      var home = cellsOf.length ? cellsOf[0].closest("form") : null;
      var spread = home && Array.prototype.some.call(cellsOf, function (el) {
        return !home.contains(el);
      });
      if (!home || spread) {
        home = document.body;
      }
      if (spec && !spec.rules && typeof spec.src === "string") {
        completed(root, spec, function (whole) { script.aksiRules = attach(home, whole); });
        return;
      }
      attached.push(script.aksiRules = attach(home, spec));
    });
    return attached;
  }

  if (typeof document !== "undefined" && document.addEventListener) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", function () { attachAll(document); });
    } else {
      attachAll(document);
    }
  }

  return {check: check, attach: attach, attachAll: attachAll, parseNumber: parseNumber,
          valueOfText: valueOfText, shown: shown, explain: explain, regionLabel: regionLabel};
}));
