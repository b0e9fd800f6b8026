// The Dispatch Notifications settings screen: one page, ten tabs, talking
// to /api/v1/settings/..., /api/v1/company, /api/v1/technicians and /api/v1/import with the
// browser session's cookie.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var base = "/api/v1/settings/dispatch-notifications";

  function api(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "X-Enroute-CSRF": "1" } };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (t) {
        var data = t ? JSON.parse(t) : null;
        if (!r.ok) { var e = new Error(data && data.error ? data.error.message : r.statusText); e.status = r.status; throw e; }
        return data;
      });
    });
  }

  function showError(e) {
    $("saved").hidden = true;
    var el = $("error");
    el.textContent = e.message;
    if (/Native GPS/.test(e.message)) { // the prerequisite's own screen is one click away
      var a = document.createElement("a");
      a.href = "#gps"; a.textContent = " View GPS settings";
      el.appendChild(a);
    }
    el.hidden = false;
  }
  function saved() { $("error").hidden = true; $("saved").hidden = false; }

  // The moments after the dispatch: one section each on the Visit Updates
  // tab, made from its template; their elements' ids start with the kind.
  var moments = [
    { kind: "nearby", title: "Nearby", what: "Tell customers when the technician is nearly there" },
    { kind: "arrived", title: "Arrived", what: "Tell customers when the technician arrives" },
    { kind: "completed", title: "Completed", what: "Thank customers when the visit is done, with a link to tell you how it went" },
    { kind: "cancelled", title: "Cancelled", what: "Tell customers when a visit they were told of is cancelled" },
    { kind: "rescheduled", title: "Rescheduled", what: "Tell customers when the arrival window of a visit they were told of moves" }
  ];
  // section makes one message's editor from the template: ids start with
  // prefix; opts.enable shows its own toggle (with the words what), and
  // opts.minutes the nearby minutes.
  function section(container, prefix, title, what, opts) {
    var sec = $("moment-template").content.firstElementChild.cloneNode(true), k = prefix;
    var role = function (r) { return sec.querySelector("[data-role='" + r + "']"); };
    sec.dataset.moment = k;
    role("title").textContent = title;
    role("title").id = k + "-title";
    sec.setAttribute("aria-labelledby", k + "-title");
    role("what").textContent = what || "";
    [["enabled"], ["minutes"], ["text"], ["subject"], ["body"]].forEach(function (x) { role(x[0]).id = k + "-" + x[0]; });
    role("minutes-label").htmlFor = k + "-minutes";
    role("text-label").htmlFor = k + "-text";
    role("subject-label").htmlFor = k + "-subject";
    role("body-label").htmlFor = k + "-body";
    role("text-tokens").dataset.for = k + "-text";
    role("body-tokens").dataset.for = k + "-body";
    ["text-preview", "text-info", "text-warnings", "email-preview", "email-preview-subject", "email-warnings"].forEach(function (r) { role(r).id = k + "-" + r; });
    role("minutes-field").hidden = !opts.minutes;
    role("enabled").closest("label").hidden = !opts.enable;
    if (opts.save) { role("save").dataset.save = opts.save; } else { role("save").remove(); }
    container.appendChild(sec);
  }
  moments.forEach(function (m) { section($("moments"), m.kind, m.title, m.what, { enable: true, minutes: m.kind === "nearby", save: m.kind }); });

  // The Languages tab: one language's templates at a time, every kind.
  var kindTitles = [["dispatch", "On the way (dispatch)"], ["late", "Running late"]].concat(moments.map(function (m) { return [m.kind, m.title]; }));
  kindTitles.forEach(function (k) { section($("lang-sections"), "lang-" + k[0], k[1], "", {}); });

  // Tabs.
  document.querySelectorAll("[role=tab]").forEach(function (b) {
    b.addEventListener("click", function () {
      document.querySelectorAll("[role=tab]").forEach(function (x) { x.setAttribute("aria-selected", x === b); });
      document.querySelectorAll(".pane").forEach(function (p) { p.hidden = p.dataset.pane !== b.dataset.tab; });
      $("error").hidden = true; $("saved").hidden = true;
    });
  });

  function fill(all, gps) {
    var t = all.text, e = all.email, tr = all.tracking, l = all.late;
    $("sms-status").textContent = t.from_number_status === "ok" ? (t.from_number_display || t.from_number) : "No default SMS number";
    $("sms-status").className = "status-" + t.from_number_status;
    $("from-number").value = t.from_number;
    $("from-number").hidden = t.from_number_status === "ok";
    $("text-template").value = t.template;
    $("text-enabled").checked = t.enabled;
    $("from-name").value = e.from_name; $("from-address").value = e.from_address;
    $("email-subject").value = e.subject; $("email-body").value = e.body;
    $("email-enabled").checked = e.enabled;
    // What the server sends with is not the screen's to change: it says so.
    [["sms-provider-note", t.provider_note], ["email-provider-note", e.provider_note]].forEach(function (n) {
      $(n[0]).textContent = n[1] || ""; $(n[0]).hidden = !n[1];
    });
    $("email-enabled").disabled = e.provider === "none" && !e.enabled;
    $("tracking-enabled").checked = tr.enabled; $("auto-arrival").checked = tr.auto_arrival;
    $("arrival-radius").value = tr.arrival_radius_m; $("arrival-dwell").value = tr.arrival_dwell_s;
    $("verification-code").checked = tr.verification_code; $("feedback-rating").checked = tr.feedback_updates_rating;
    $("gps-line").textContent = gps.ready ? "Native GPS is set up (" + gps.active_devices + " devices)." : "Native GPS is not set up: turn it on below and register technicians' devices.";
    $("gps-enabled").checked = gps.enabled;
    $("limit").checked = all.general.limit_when_multiple_techs;
    var q = all.general.quiet_hours;
    $("quiet-enabled").checked = q.enabled; $("quiet-start").value = q.start; $("quiet-end").value = q.end;
    $("late-enabled").checked = l.enabled; $("late-margin").value = l.margin_min;
    $("late-text").value = l.text_template; $("late-subject").value = l.email_subject; $("late-body").value = l.email_body;
    languages = all.languages.languages || {};
    $("company-language").textContent = langName(all.languages.company_language || "en");
    var pick = $("lang-pick"), was = pick.value;
    pick.textContent = "";
    Object.keys(languages).sort().forEach(function (code) {
      var o = document.createElement("option"); o.value = code; o.textContent = langName(code) + " (" + code + ")" + (languages[code].enabled ? "" : " · off");
      pick.appendChild(o);
    });
    if (was && languages[was]) { pick.value = was; }
    fillLanguage();
    moments.forEach(function (m) {
      var v = all[m.kind], k = m.kind;
      $(k + "-enabled").checked = v.enabled;
      $(k + "-text").value = v.text_template; $(k + "-subject").value = v.email_subject; $(k + "-body").value = v.email_body;
      if (k === "nearby") { $(k + "-minutes").value = v.minutes; }
    });
  }

  // The Languages tab's language, with each kind's templates.
  var languages = {};
  function langName(code) {
    try { return new Intl.DisplayNames(["en"], { type: "language" }).of(code) || code; } catch (e) { return code; }
  }
  function fillLanguage() {
    var code = $("lang-pick").value, l = languages[code];
    $("lang-enabled").checked = !!(l && l.enabled);
    $("lang-delete").hidden = !l || code === "es";
    kindTitles.forEach(function (k) {
      var t = (l && l.templates && l.templates[k[0]]) || { text_template: "", email_subject: "", email_body: "" };
      $("lang-" + k[0] + "-text").value = t.text_template; $("lang-" + k[0] + "-subject").value = t.email_subject; $("lang-" + k[0] + "-body").value = t.email_body;
    });
  }
  $("lang-pick").addEventListener("change", function () { fillLanguage(); langPreviews(); });
  $("lang-add").addEventListener("click", function () {
    var code = $("lang-new").value.trim().toLowerCase();
    $("saved").hidden = true;
    api("PUT", base + "/languages/" + encodeURIComponent(code), { enabled: false }).then(function () {
      $("lang-new").value = "";
      return load();
    }).then(function () { $("lang-pick").value = code; fillLanguage(); langPreviews(); saved(); }).catch(showError);
  });
  $("lang-delete").addEventListener("click", function () {
    var code = $("lang-pick").value;
    if (!window.confirm("Remove the " + langName(code) + " templates? Its customers then get the company's own.")) { return; }
    api("DELETE", base + "/languages/" + encodeURIComponent(code)).then(function () { $("lang-pick").value = ""; return load(); }).then(saved).catch(showError);
  });

  function fillCompany(c) {
    $("company-name").value = c.name; $("company-phone").value = c.phone_display || c.phone; $("company-logo").value = c.logo_url;
    $("company-tz").value = c.time_zone; $("company-locale").value = c.locale; $("company-color").value = c.brand_color || "";
  }

  function load() {
    return Promise.all([api("GET", base), api("GET", "/api/v1/settings/gps"), api("GET", "/api/v1/company")]).then(function (r) {
      fill(r[0], r[1]);
      fillCompany(r[2]);
      apps = r[1].apps;
      previewAll();
    });
  }

  // Technicians' phones: each active technician with their registered
  // devices; registering one shows, once, what to enter into the app.
  var apps = {};
  function el(tag, text, cls) { var e = document.createElement(tag); if (text) { e.textContent = text; } if (cls) { e.className = cls; } return e; }
  function loadPhones() {
    return api("GET", "/api/v1/technicians?active=true&limit=1000").then(function (r) {
      return Promise.all(r.items.map(function (t) {
        return api("GET", "/api/v1/technicians/" + t.id + "/devices?limit=1000").then(function (d) {
          return { tech: t, devices: d.items.filter(function (x) { return !x.revoked_at; }) };
        });
      }));
    }).then(renderPhones);
  }
  function renderPhones(rows) {
    var body = $("phones").tBodies[0];
    body.textContent = "";
    if (!rows.length) {
      var tr = el("tr"), td = el("td", "No technicians yet: add them on the Technicians tab.", "muted");
      td.colSpan = 3; tr.appendChild(td); body.appendChild(tr);
      return;
    }
    rows.forEach(function (row) {
      var tr = el("tr"), phones = el("td"), act = el("td");
      tr.dataset.technician = row.tech.id;
      tr.appendChild(el("th", row.tech.name)).scope = "row";
      if (!row.devices.length) { phones.appendChild(el("span", "None", "muted")); }
      row.devices.forEach(function (d) {
        var item = el("div", null, "phone");
        item.dataset.device = d.id;
        item.appendChild(el("span", d.name || "Phone"));
        item.appendChild(el("code", d.identifier));
        var rm = el("button", "Remove", "link");
        rm.type = "button";
        rm.setAttribute("aria-label", "Remove " + (d.name || "phone") + " of " + row.tech.name);
        rm.addEventListener("click", function () {
          if (!window.confirm("Remove this phone? It stops sending positions at once.")) { return; }
          api("DELETE", "/api/v1/devices/" + d.id).then(function () { $("new-phone").hidden = true; return loadPhones(); }).catch(showError);
        });
        item.appendChild(rm);
        phones.appendChild(item);
      });
      var add = el("button", "Register a phone");
      add.type = "button";
      add.setAttribute("aria-label", "Register a phone for " + row.tech.name);
      add.addEventListener("click", function () { registerPhone(row.tech); });
      act.appendChild(add);
      tr.appendChild(phones); tr.appendChild(act);
      body.appendChild(tr);
    });
  }
  // The Technicians tab: everyone, active or not; one form adds or edits.
  function loadTechnicians() {
    return api("GET", "/api/v1/technicians?limit=1000").then(function (r) {
      var body = $("tech-list").tBodies[0];
      body.textContent = "";
      r.items.sort(function (a, b) { return a.name.localeCompare(b.name); }).forEach(function (t) {
        var tr = el("tr"), photo = el("td");
        tr.dataset.technician = t.id;
        if (t.photo_url) { var img = el("img", null, "avatar"); img.src = t.photo_url; img.alt = ""; photo.appendChild(img); }
        tr.appendChild(photo);
        tr.appendChild(el("td", t.name));
        // The rating customers see: the one set here, or fed by their
        // feedback when the Arrival Tracking tab says so.
        var r = t.effective_rating;
        tr.appendChild(el("td", r ? r.toFixed(1) + (r >= 4 ? " ★ shown" : " (not shown)") + (r !== t.rating ? " (set: " + t.rating.toFixed(1) + ")" : "") : "—"));
        tr.appendChild(el("td", t.feedback_count ? t.feedback_mean.toFixed(1) + " from " + t.feedback_count + (t.feedback_count === 1 ? " visit" : " visits") : "—"));
        tr.appendChild(el("td", t.active ? "Yes" : "No"));
        var act = el("td"), b = el("button", "Edit", "link");
        b.type = "button";
        b.setAttribute("aria-label", "Edit " + t.name);
        b.addEventListener("click", function () { editTechnician(t); });
        act.appendChild(b); tr.appendChild(act);
        body.appendChild(tr);
      });
    });
  }
  function editTechnician(t) {
    $("tech-id").value = t ? t.id : "";
    $("tech-name").value = t ? t.name : "";
    $("tech-photo").value = t ? t.photo_url : "";
    $("tech-rating").value = t ? t.rating : 0;
    $("tech-active").checked = t ? t.active : true;
    $("tech-form-title").textContent = t ? "Edit " + t.name : "Add a technician";
    $("tech-save").textContent = t ? "Save technician" : "Add technician";
    $("tech-cancel").hidden = !t;
    if (t) { $("tech-name").focus(); }
  }
  $("tech-cancel").addEventListener("click", function () { editTechnician(null); });
  $("tech-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var id = $("tech-id").value, body = { name: $("tech-name").value.trim(), photo_url: $("tech-photo").value.trim(),
      rating: parseFloat($("tech-rating").value) || 0, active: $("tech-active").checked };
    api(id ? "PATCH" : "POST", "/api/v1/technicians" + (id ? "/" + id : ""), body).then(function () {
      editTechnician(null);
      return Promise.all([loadTechnicians(), loadPhones()]);
    }).then(saved).catch(showError);
  });

  function registerPhone(tech) {
    api("POST", "/api/v1/technicians/" + tech.id + "/devices", { name: tech.name + "'s phone" }).then(function (d) {
      $("new-phone-title").textContent = "Phone registered for " + tech.name;
      $("setup-osmand").textContent = apps.osmand_url || "(the OsmAnd listener is off: ENROUTE_OSMAND_ADDR)";
      $("setup-ident").textContent = d.identifier;
      $("setup-owntracks").textContent = apps.owntracks_url;
      $("setup-token").textContent = d.token;
      $("setup-native").textContent = apps.native_url;
      $("new-phone").hidden = false;
      return loadPhones();
    }).catch(showError);
  }

  // The time zones this browser knows, to pick from (the server checks).
  if (Intl.supportedValuesOf) {
    Intl.supportedValuesOf("timeZone").forEach(function (z) { var o = document.createElement("option"); o.value = z; $("time-zones").appendChild(o); });
  }

  // Live preview, following typing.
  var timers = {};
  function debounce(name, fn) { clearTimeout(timers[name]); timers[name] = setTimeout(fn, 200); }
  function list(ul, items) {
    ul.textContent = "";
    (items || []).forEach(function (w) { var li = document.createElement("li"); li.textContent = w; ul.appendChild(li); });
  }
  // Each editor's preview: its channel, whose templates (dispatch or
  // running late: then {NewETA} has a sample time), its fields, and the
  // prefix of the elements it fills.
  var previews = {
    "text": { channel: "sms", kind: "dispatch", body: "text-template" },
    "email": { channel: "email", kind: "dispatch", subject: "email-subject", body: "email-body" },
    "late-text": { channel: "sms", kind: "late", body: "late-text" },
    "late-email": { channel: "email", kind: "late", subject: "late-subject", body: "late-body" }
  };
  moments.forEach(function (m) {
    var k = m.kind;
    previews[k + "-text"] = { channel: "sms", kind: k, body: k + "-text" };
    previews[k + "-email"] = { channel: "email", kind: k, subject: k + "-subject", body: k + "-body" };
  });
  function preview(name) {
    var c = previews[name], req = { channel: c.channel, kind: c.kind, template: $(c.body).value };
    if (c.language) { req.language = $("lang-pick").value; }
    if (c.subject) { req.subject = $(c.subject).value; }
    api("POST", base + "/preview", req).then(function (p) {
      $(name + "-preview").textContent = p.body; // e-mail shown as text: the HTML part is the same words
      if (c.subject) {
        $(name + "-preview-subject").textContent = p.subject;
      } else {
        $(name + "-info").textContent = p.sms.characters + " characters · " + p.sms.encoding + " · " + p.sms.segments + (p.sms.segments === 1 ? " segment" : " segments");
      }
      list($(name + "-warnings"), p.warnings);
    }).catch(function (e) {
      $(name + "-preview").textContent = c.subject ? e.message : "";
      if (!c.subject) { $(name + "-info").textContent = e.message; }
      list($(name + "-warnings"), []);
    });
  }
  kindTitles.forEach(function (k) {
    previews["lang-" + k[0] + "-text"] = { channel: "sms", kind: k[0], body: "lang-" + k[0] + "-text", language: true };
    previews["lang-" + k[0] + "-email"] = { channel: "email", kind: k[0], subject: "lang-" + k[0] + "-subject", body: "lang-" + k[0] + "-body", language: true };
  });
  function previewAll() { Object.keys(previews).forEach(preview); }
  function langPreviews() { Object.keys(previews).filter(function (n) { return previews[n].language; }).forEach(preview); }
  Object.keys(previews).forEach(function (name) {
    [previews[name].body, previews[name].subject].forEach(function (id) {
      if (id) { $(id).addEventListener("input", function () { debounce(name, function () { preview(name); }); }); }
    });
  });

  // Token pickers insert at the cursor.
  api("GET", base + "/tokens").then(function (r) {
    document.querySelectorAll("select.tokens").forEach(function (sel) {
      r.items.forEach(function (t) { var o = document.createElement("option"); o.value = "{" + t.token + "}"; o.textContent = t.token + " — " + t.description; sel.appendChild(o); });
      sel.addEventListener("change", function () {
        var ta = $(sel.dataset.for), at = ta.selectionStart || ta.value.length;
        ta.value = ta.value.slice(0, at) + sel.value + ta.value.slice(at);
        sel.value = ""; ta.focus(); ta.dispatchEvent(new Event("input"));
      });
    });
  }).catch(function () {});

  $("edit-phone").addEventListener("click", function () { $("from-number").hidden = false; $("from-number").focus(); });

  var savers = {
    text: function () { return api("PUT", base + "/text", { from_number: $("from-number").value.trim(), template: $("text-template").value, enabled: $("text-enabled").checked }); },
    email: function () { return api("PUT", base + "/email", { from_name: $("from-name").value, from_address: $("from-address").value.trim(), subject: $("email-subject").value, body: $("email-body").value, enabled: $("email-enabled").checked }); },
    tracking: function () {
      return api("PUT", base + "/tracking", { enabled: $("tracking-enabled").checked, auto_arrival: $("auto-arrival").checked,
        arrival_radius_m: parseFloat($("arrival-radius").value) || 0, arrival_dwell_s: parseInt($("arrival-dwell").value, 10) || 0,
        verification_code: $("verification-code").checked, feedback_updates_rating: $("feedback-rating").checked });
    },
    general: function () {
      return api("PUT", base + "/general", { limit_when_multiple_techs: $("limit").checked,
        quiet_hours: { enabled: $("quiet-enabled").checked, start: $("quiet-start").value, end: $("quiet-end").value } });
    },
    late: function () { return api("PUT", base + "/late", { enabled: $("late-enabled").checked, margin_min: parseInt($("late-margin").value, 10) || 0, text_template: $("late-text").value, email_subject: $("late-subject").value, email_body: $("late-body").value }); },
    gps: function () { return api("PUT", "/api/v1/settings/gps", { enabled: $("gps-enabled").checked }); },
    company: function () {
      return api("PATCH", "/api/v1/company", { name: $("company-name").value.trim(), phone: $("company-phone").value.trim(), logo_url: $("company-logo").value.trim(),
        time_zone: $("company-tz").value.trim(), locale: $("company-locale").value.trim(), brand_color: $("company-color").value.trim() });
    }
  };
  savers.language = function () {
    var ts = {};
    kindTitles.forEach(function (k) {
      ts[k[0]] = { text_template: $("lang-" + k[0] + "-text").value, email_subject: $("lang-" + k[0] + "-subject").value, email_body: $("lang-" + k[0] + "-body").value };
    });
    return api("PUT", base + "/languages/" + encodeURIComponent($("lang-pick").value), { enabled: $("lang-enabled").checked, templates: ts });
  };
  moments.forEach(function (m) {
    var k = m.kind;
    savers[k] = function () {
      var body = { enabled: $(k + "-enabled").checked, text_template: $(k + "-text").value, email_subject: $(k + "-subject").value, email_body: $(k + "-body").value };
      if (k === "nearby") { body.minutes = parseInt($(k + "-minutes").value, 10) || 0; }
      return api("PUT", base + "/" + k, body);
    };
  });
  document.querySelectorAll("button.save").forEach(function (b) {
    b.addEventListener("click", function () {
      $("saved").hidden = true;
      savers[b.dataset.save]().then(function () { return load(); }).then(saved).catch(showError);
    });
  });

  // Import: the file goes as a form upload; what the server refused is
  // listed by row and column (as text: the file's values are not HTML).
  $("import-go").addEventListener("click", function () {
    var file = $("import-file").files[0], kind = $("import-kind").value;
    $("import-result").hidden = true; $("import-errors").hidden = true; $("error").hidden = true;
    if (!file) { showError(new Error("Choose a CSV file first.")); return; }
    var form = new FormData();
    form.append("file", file);
    fetch("/api/v1/import/" + kind, { method: "POST", credentials: "same-origin", headers: { "X-Enroute-CSRF": "1" }, body: form }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) {
          var body = $("import-errors").querySelector("tbody");
          body.textContent = "";
          ((data.error && data.error.rows) || []).forEach(function (e) {
            var tr = el("tr");
            [String(e.row), e.column, e.message].forEach(function (v) { tr.appendChild(el("td", v)); });
            body.appendChild(tr);
          });
          $("import-errors").hidden = body.children.length === 0;
          throw new Error(data.error ? data.error.message : r.statusText);
        }
        $("import-result").textContent = "Imported: " + data.created + " new, " + data.updated + " updated, " + data.unchanged + " unchanged.";
        $("import-result").hidden = false;
        if (kind === "technicians") { return Promise.all([loadTechnicians(), loadPhones()]); }
      });
    }).catch(showError);
  });

  // Sign out ends the browser session (on the server too), back to the
  // log-in form.
  $("logout").addEventListener("click", function () {
    api("DELETE", "/api/v1/session").then(function () { window.location.reload(); }).catch(function (e) { window.alert(e.message); });
  });
  // Log in with an API key; the session lives in an HttpOnly cookie.
  $("login").addEventListener("submit", function (ev) {
    ev.preventDefault();
    api("POST", "/api/v1/session", { key: $("key").value }).then(start).catch(function (e) {
      $("login-error").textContent = e.message; $("login-error").hidden = false;
    });
  });
  function start() {
    // The technicians and their phones once here; after that, each of
    // their own actions reloads them (a tab's Save reloads only the settings).
    return load().then(function () { return Promise.all([loadPhones(), loadTechnicians()]); }).then(function () { $("login").hidden = true; $("app").hidden = false; }).catch(function (e) {
      if (e.status === 401 || e.status === 403) { $("app").hidden = true; $("login").hidden = false; if (e.status === 403) { $("login-error").textContent = "This screen needs an admin key."; $("login-error").hidden = false; } return; }
      showError(e);
    });
  }
  start();
})();
