/* Gives back what a person typed before their session ended (see engine/web/auth.py).

   Every POST form (not the sign-in) leaves a copy of its fields in the tab's
   sessionStorage when it is sent; the next page drops it, unless the server says the post
   was not processed: it embeds #aksi-kept, {"waiting": true} on the way (the sign-in page)
   and {"action": posted path, "fields": {name: value or [values]}} on the page to fill.
   The fields come from the server when they fitted its session cookie, else from the
   browser's copy of that same post. Fields of the form posted to that path are filled
   first, then fields of the same name elsewhere on the page; hidden, file and password
   inputs are left alone; each filled field gets "input" and "change" events so the page's
   checks run again. */
(function () {
  "use strict";
  var KEY = "aksi.posted";

  function store(value) {
    try {
      if (value === null) { sessionStorage.removeItem(KEY); }
      else { sessionStorage.setItem(KEY, JSON.stringify(value)); }
    } catch (e) { /* storage full or disabled: the server's copy or a message remains */ }
  }

  function pathOf(form) {
    return new URL(form.getAttribute("action") || location.href, location.href).pathname;
  }

  function skipped(el) {
    var type = (el.type || "").toLowerCase();
    return !el.name || type === "hidden" || type === "file" || type === "password" ||
      type === "submit" || type === "button" || el.name === "csrf_token";
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if ((form.method || "").toLowerCase() !== "post" ||
        form.querySelector("input[type=password]")) { return; }
    var fields = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      var type = (el.type || "").toLowerCase();
      if (skipped(el) || ((type === "checkbox" || type === "radio") && !el.checked)) { return; }
      var values = el.tagName === "SELECT" && el.multiple
        ? Array.prototype.filter.call(el.options, function (o) { return o.selected; })
            .map(function (o) { return o.value; })
        : [el.value];
      fields[el.name] = (fields[el.name] || []).concat(values);
    });
    store({ action: pathOf(form), fields: fields });
  }, true);

  var source = document.getElementById("aksi-kept");
  var kept = null;
  try { kept = source ? JSON.parse(source.textContent) : null; } catch (e) { kept = null; }
  var mine = null;
  try { mine = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (e) { mine = null; }
  if (!kept || !kept.action) {
    if (!kept) { store(null); }
    return;
  }
  store(null);
  var fields = kept.fields || {};
  if (!Object.keys(fields).length && mine && mine.action === kept.action) {
    fields = mine.fields || {};
  }
  var forms = Array.prototype.slice.call(document.forms);
  var target = forms.filter(function (f) { return pathOf(f) === kept.action; });
  var scopes = target.length ? target : [document];
  var filled = 0;

  function fill(el, value) {
    if (skipped(el)) { return; }
    var type = (el.type || "").toLowerCase();
    var values = Array.isArray(value) ? value : [value];
    if (type === "checkbox" || type === "radio") {
      el.checked = values.indexOf(el.value) !== -1;
    } else if (el.tagName === "SELECT" && el.multiple) {
      Array.prototype.forEach.call(el.options, function (o) {
        o.selected = values.indexOf(o.value) !== -1;
      });
    } else {
      el.value = values[0];
    }
    filled += 1;
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }

  Object.keys(fields).forEach(function (name) {
    scopes.forEach(function (scope) {
      var els = scope.querySelectorAll('[name="' + CSS.escape(name) + '"]');
      Array.prototype.forEach.call(els, function (el) { fill(el, fields[name]); });
    });
  });
  var note = document.querySelector("[data-aksi-kept-note]");
  if (note && filled) { note.hidden = false; }
})();
