/* Leadgate embedded form. The server fills FORM (definition) and TOKEN (signed render time).
   Posts cross-origin to the form's submit address; the visitor id of the tracker, if present,
   links earlier page views to the new contact. */
(function () {
  "use strict";
  var FORM = __FORM__;
  var TOKEN = __TOKEN__;
  var BASE = __BASE__;
  var targets = document.querySelectorAll('[data-leadgate-form="' + FORM.slug + '"]');
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    if (text) e.textContent = text;
    return e;
  }
  function visitor() {
    if (window.leadgate && window.leadgate.visitor) return window.leadgate.visitor();
    var m = document.cookie.match(/(?:^|; )lg_vid=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  targets.forEach(function (target) {
    var form = el("form", { "class": "leadgate-form", novalidate: "novalidate" });
    form.appendChild(el("h2", {}, FORM.title));
    if (FORM.description) form.appendChild(el("p", {}, FORM.description));
    FORM.fields.forEach(function (f) {
      var id = "lg-" + FORM.slug + "-" + f.name;
      var row = el("div", { "class": "lg-field", "data-field": f.name });
      var input;
      if (f.type === "textarea") input = el("textarea", { id: id, name: f.name });
      else if (f.type === "select") {
        input = el("select", { id: id, name: f.name });
        input.appendChild(el("option", { value: "" }, ""));
        f.options.forEach(function (o) { input.appendChild(el("option", { value: o }, o)); });
      } else {
        var type = { email: "email", tel: "tel", checkbox: "checkbox" }[f.type] || "text";
        input = el("input", { id: id, name: f.name, type: type });
      }
      if (f.required) input.setAttribute("required", "required");
      row.appendChild(el("label", { "for": id }, f.label + (f.required ? " *" : "")));
      row.appendChild(input);
      row.appendChild(el("span", { "class": "lg-error", role: "alert" }));
      form.appendChild(row);
    });
    FORM.consents.forEach(function (c) {
      var id = "lg-" + FORM.slug + "-consent-" + c.purpose;
      var row = el("div", { "class": "lg-consent" });
      row.appendChild(el("input", { id: id, name: "consent_" + c.purpose, type: "checkbox", value: "on" }));
      row.appendChild(el("label", { "for": id }, c.text));
      form.appendChild(row);
    });
    // People leave this field empty; robots fill every field.
    var trap = el("div", { "aria-hidden": "true", style: "position:absolute;left:-10000px" });
    trap.appendChild(el("input", { name: "_lg_hp", tabindex: "-1", autocomplete: "off" }));
    form.appendChild(trap);
    form.appendChild(el("button", { type: "submit" }, FORM.submit_label));
    var status = el("p", { "class": "lg-status", role: "status" });
    form.appendChild(status);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var data = new URLSearchParams(new FormData(form));
      data.set("_lg_token", TOKEN);
      data.set("_lg_visitor", visitor());
      form.querySelectorAll(".lg-error").forEach(function (e) { e.textContent = ""; });
      fetch(BASE + "/f/" + FORM.slug + "/submit", { method: "POST", body: data, headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (res) {
          if (res.ok) { form.reset(); status.textContent = res.message; form.setAttribute("data-state", "sent"); return; }
          (res.errors || []).forEach(function (e) {
            var slot = form.querySelector('[data-field="' + e.field + '"] .lg-error');
            if (slot) slot.textContent = e.message; else status.textContent = e.message;
          });
          if (!res.errors) status.textContent = res.detail || "The form could not be sent.";
        })
        .catch(function () { status.textContent = "The form could not be sent; check your connection and try again."; });
    });
    target.appendChild(form);
  });
})();
