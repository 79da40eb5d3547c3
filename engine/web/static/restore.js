/* Puts back what a person typed before their session ended (see engine/web/auth.py).
   The page embeds {"action": posted path, "fields": {name: value or [values]}} as
   #aksi-kept; fields of the form posted to that path are filled first, then fields of
   the same name elsewhere on the page. Hidden, file and password inputs are left alone;
   each filled field gets "input" and "change" events so the page's checks run again. */
(function () {
  "use strict";
  var source = document.getElementById("aksi-kept");
  if (!source) { return; }
  var kept;
  try { kept = JSON.parse(source.textContent); } catch (e) { return; }
  var fields = kept.fields || {};
  var forms = Array.prototype.slice.call(document.forms);
  var target = forms.filter(function (f) {
    return new URL(f.action, location.href).pathname === kept.action;
  });
  var scopes = target.length ? target : [document];

  function fill(el, value) {
    var type = (el.type || "").toLowerCase();
    if (type === "hidden" || type === "file" || type === "password" || type === "submit") {
      return;
    }
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
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }

  Object.keys(fields).forEach(function (name) {
    scopes.forEach(function (scope) {
      var els = scope.querySelectorAll('[name="' + CSS.escape(name) + '"]');
      Array.prototype.forEach.call(els, function (el) { fill(el, fields[name]); });
    });
  });
})();
