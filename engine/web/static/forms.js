/* The stage page's form, made easier with a script (everything works without it):
   - "Tambah baris" adds a repeating row (a copy of the empty row, numbered next) and the
     row's "Hapus" box removes it at once;
   - leaving the page with unsaved changes asks first;
   - column totals follow what is typed (Indonesian numbers: 1.234.567 and 12,5);
   - forms marked data-confirm (approve, reopen) ask before they are sent;
   - a link of the problem summary puts the cursor in the cell.
   No framework: the page is server-rendered and this only adds behaviour. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");  // hides advice for a browser without it

  function parseNumber(text) {
    var t = String(text || "").replace(/\s|\u00a0/g, "").replace(/^rp/i, "");
    if (!t) return null;
    if (!/^-?\d{1,3}(\.\d{3})*(,\d+)?$/.test(t) && !/^-?\d+(,\d+)?$/.test(t)) return NaN;
    return parseFloat(t.replace(/\./g, "").replace(",", "."));
  }

  function formatNumber(n) {
    var parts = String(Math.round(n * 1e6) / 1e6).split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ".");
    return parts[1] ? whole + "," + parts[1] : whole;
  }

  // -- totals ----------------------------------------------------------------------------
  function updateTotal(cell) {
    var table = cell.closest("table");
    if (!table) return;
    var key = cell.getAttribute("data-cell");
    var bits = key.split("/");
    var totalKey = bits[0] + "/" + bits[1] + "/" + bits[3];
    var target = table.querySelector('[data-total="' + CSS.escape(totalKey) + '"]');
    if (!target) return;
    var sum = 0, bad = false;
    table.querySelectorAll("td[data-cell]").forEach(function (td) {
      var b = td.getAttribute("data-cell").split("/");
      if (b[3] !== bits[3]) return;
      var input = td.querySelector("input");
      var n = input ? parseNumber(input.value) : parseNumber(td.textContent);
      if (n === null) return;
      if (isNaN(n)) bad = true; else sum += n;
    });
    target.textContent = bad ? "?" : formatNumber(sum);
  }

  // -- lean tables: the attributes the server leaves out of plain cells ------------------
  function valueOf(kind, text) {
    text = text.trim();
    if (text === "") return null;
    if (kind === "yes-no") return text === "Ya" ? true : (text === "Tidak" ? false : text);
    if (/^(count|integer|number|percent|rupiah|year)$/.test(kind)) {
      var n = kind === "year" ? Number(text) : parseNumber(text);
      return n === null || isNaN(n) ? text : n;
    }
    return text;
  }

  function expandLean(table) {
    var section = table.getAttribute("data-section");
    var fields = table.getAttribute("data-fields").split(" ");
    var kinds = table.getAttribute("data-kinds").split(" ");
    var heads = table.getAttribute("data-heads").split(" ");
    Array.prototype.forEach.call(table.tBodies[0].rows, function (tr) {
      var row = tr.getAttribute("data-row"), th = tr.cells[0];
      for (var i = 1; i < tr.cells.length && i <= fields.length; i++) {
        var td = tr.cells[i], key = section + "/" + row + "/" + fields[i - 1];
        if (td.hasAttribute("data-cell")) continue;  // the server's full markup
        td.setAttribute("data-cell", key);
        var input = td.querySelector("input,select");
        if (!input) {
          td.classList.add("ro");
          var shown = td.firstChild && td.firstChild.nodeType === 3 ? td.firstChild.nodeValue : "";
          var v = valueOf(kinds[i - 1], shown);
          if (v !== null) td.setAttribute("data-value", JSON.stringify(v));
          continue;
        }
        if (!input.hasAttribute("aria-labelledby")) {  // the server writes it
          input.setAttribute("aria-labelledby", heads[i - 1] + " " + th.id);
        }
        if (input.tagName === "INPUT") {
          input.setAttribute("inputmode", /^(number|percent)$/.test(kinds[i - 1]) ? "decimal" : "numeric");
        }
        var box = document.createElement("span");
        box.setAttribute("data-problems-for", key);
        box.id = "m:" + key;
        td.appendChild(box);
      }
    });
  }

  // -- repeating rows --------------------------------------------------------------------
  function renumber(row, section, n) {
    var old = row.getAttribute("data-row-key");
    row.querySelectorAll("[name],[data-cell],[data-problems-for],[id],[aria-labelledby],[aria-describedby],input[name=hapus]").forEach(function (el) {
      ["name", "data-cell", "data-problems-for", "id", "aria-labelledby", "aria-describedby", "value"].forEach(function (attr) {
        var v = el.getAttribute(attr);
        if (v === null) return;
        if (attr === "value" && el.name !== "hapus") return;
        var renamed = v === section + "/" + old ? section + "/" + n :
          v.split(section + "/" + old + "/").join(section + "/" + n + "/");
        el.setAttribute(attr, renamed);
      });
    });
    if (row.hasAttribute("id")) row.removeAttribute("id");
    row.setAttribute("data-row-key", String(n));
  }

  function rowKey(row, section) {
    var cell = row.querySelector("[data-cell]");
    if (!cell) return null;
    var rest = cell.getAttribute("data-cell").slice(section.length + 1);
    return rest.split("/")[0];
  }

  function setupRows(form) {
    form.querySelectorAll("[data-add-row]").forEach(function (button) {
      var section = button.getAttribute("data-add-row");
      var table = form.querySelector('table[data-section="' + CSS.escape(section) + '"]');
      if (!table) return;
      var blank = table.querySelector("tbody tr[data-blank]");
      if (!blank) return;
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        tr.setAttribute("data-row-key", rowKey(tr, section));
      });
      var template = blank.cloneNode(true);
      button.hidden = false;
      button.addEventListener("click", function () {
        var max = 0;
        table.querySelectorAll("tbody tr").forEach(function (tr) {
          max = Math.max(max, parseInt(tr.getAttribute("data-row-key"), 10) || 0);
        });
        var row = template.cloneNode(true);
        renumber(row, section, max + 1);
        var label = row.querySelector("th");
        if (label) label.lastChild.textContent = String(max + 1);
        table.tBodies[0].appendChild(row);
        var first = row.querySelector("input:not([type=hidden]),select,textarea");
        if (first) first.focus();
        markDirty(form);
      });
      table.addEventListener("change", function (event) {
        var box = event.target;
        if (box.name !== "hapus" || !box.checked) return;
        var row = box.closest("tr");
        var label = row.getAttribute("data-row-key") || "";
        if (!window.confirm("Hapus baris " + label + "? Baris terhapus saat isian disimpan.")) {
          box.checked = false;
          return;
        }
        row.hidden = true;
        markDirty(form);
        row.querySelectorAll("[data-cell]").forEach(updateTotal);
      });
    });
  }

  // -- unsaved changes -------------------------------------------------------------------
  var dirty = false, sending = false;
  function markDirty() { dirty = true; }

  function setupDirty(form) {
    dirty = form.hasAttribute("data-unsaved");  // a refused save shows what is not saved yet
    form.addEventListener("input", function (event) {
      dirty = true;
      var cell = event.target.closest("td[data-cell]");
      if (cell) updateTotal(cell);
    });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function () { sending = true; });
    window.addEventListener("beforeunload", function (event) {
      if (dirty && !sending) {
        event.preventDefault();
        event.returnValue = "Ada perubahan yang belum disimpan.";
        return event.returnValue;
      }
    });
  }

  // -- confirmations and links -------------------------------------------------------------
  function setupConfirm() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
        else sending = true;
      });
    });
  }

  function focusCell(id) {
    var target = document.getElementById(id);
    if (!target) return;
    var input = target.matches("input,select,textarea") ? target :
      target.querySelector("input:not([type=hidden]),select,textarea");
    if (input) input.focus({ preventScroll: false });
    target.scrollIntoView({ block: "center", inline: "center" });
  }

  function setupLinks() {
    document.addEventListener("click", function (event) {
      var link = event.target.closest(".sum a[href^='#']");
      if (!link) return;
      event.preventDefault();
      focusCell(decodeURIComponent(link.getAttribute("href").slice(1)));
    });
  }

  function setup() {
    document.querySelectorAll("table.lean").forEach(expandLean);
    var form = document.querySelector("form[data-aksi-form]");
    if (form) {
      setupRows(form);
      setupDirty(form);
    }
    setupConfirm();
    setupLinks();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
