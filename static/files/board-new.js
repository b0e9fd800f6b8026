// board-new.js: the board's New job panel, so a dispatcher creates and
// dispatches a job without leaving the board. They find the customer
// (GET /api/v1/customers?q=) or type a new one; pick one of the customer's
// sites or type a new address (the geocoder verifies it once the site is
// created, as through the API) or drop the site's pin on the map (a
// dispatcher's pin is verified); give the job's number and arrival
// window (in the company's time zone) and a technician. The panel then
// creates what is new (customer, location, job, assignment), in that
// order, and dispatches at once or leaves the assignment scheduled. What
// the API refuses is said next to the field it names; what was created
// before a refusal is kept and reused, never made twice. Everything typed
// is shown with textContent, never as HTML.
//
// dispatch.js calls window.EnrouteNewJob(board) once the board has
// started; board gives what the panel uses of it (api, el, map, move,
// technicians, timeZone, reload).
window.EnrouteNewJob = function (board) {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var el = board.el, map = board.map;
  var panel = $("new-job"), form = $("nj-form");
  var s; // the panel's state; see reset
  var pinMarker = null, placing = null; // placing: what a click on the map pins ("form" or "done")

  // The inputs that each step's fields (as the API names them) belong to.
  var inputs = {
    search: { q: "nj-q" },
    customer: { name: "nj-name", phone: "nj-phone", email: "nj-email" },
    location: { address: "nj-address", lat: "nj-pin", lng: "nj-pin", verified: "nj-pin", customer_id: "nj-q" },
    job: { number: "nj-number", window_start: "nj-start", window_end: "nj-end", customer_id: "nj-q", location_id: "nj-address" },
    assignment: { technician_id: "nj-tech" }
  };

  function reset() {
    s = {
      customer: null,  // the customer found or created (the API's record)
      creating: false, // a new customer is being typed
      sites: [],       // the customer's locations
      site: "new",     // the chosen location's id, or "new"
      pin: null,       // the dispatcher's pin for the site: {lat, lng}
      made: {},        // location, job, assignment this panel created: a retry reuses them
      seq: 0,          // the customer search being answered
      run: (s ? s.run : 0) + 1 // this filling of the panel: late answers of an earlier one are dropped
    };
    form.reset();
    form.hidden = false;
    $("nj-done").hidden = true;
    ["nj-number", "nj-start", "nj-end"].forEach(function (id) { $(id).readOnly = false; });
    $("nj-results").textContent = "";
    $("nj-results-none").hidden = true;
    showCustomer();
    renderSites();
    clearErrors();
    removePinMarker();
    stopPlacing();
    defaultWindow();
  }

  // --- The customer ---------------------------------------------------

  var searchTimer = null;
  $("nj-q").addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(search, 250);
  });
  function search() {
    var q = $("nj-q").value.trim(), mine = ++s.seq;
    clearError("nj-q");
    if (!q) { $("nj-results").textContent = ""; $("nj-results-none").hidden = true; return; }
    board.api("GET", "/api/v1/customers?limit=8&q=" + encodeURIComponent(q)).then(function (r) {
      if (mine !== s.seq) { return; }
      var ul = $("nj-results");
      ul.textContent = "";
      r.items.forEach(function (c) {
        var b = el("button", describe(c));
        b.type = "button";
        b.dataset.customer = c.id;
        b.addEventListener("click", function () { pick(c); });
        var li = el("li");
        li.appendChild(b);
        ul.appendChild(li);
      });
      $("nj-results-none").hidden = r.items.length > 0;
    }).catch(function (e) { if (mine === s.seq) { showErrors(e, "search"); } });
  }
  function describe(c) { return [c.name, c.phone, c.email].filter(Boolean).join(" · "); }

  function pick(c) {
    s.customer = c;
    s.creating = false;
    showCustomer();
    loadSites(c.id);
  }
  // showCustomer shows the search, the new customer's fields, or the one
  // chosen (which cannot change once a site was created for them).
  function showCustomer() {
    $("nj-find").hidden = !!s.customer || s.creating;
    $("nj-create").hidden = !!s.customer || !s.creating;
    $("nj-picked").hidden = !s.customer;
    $("nj-picked-text").textContent = s.customer ? describe(s.customer) : "";
    $("nj-change").hidden = !!s.made.location;
  }
  $("nj-new-customer").addEventListener("click", function () {
    var q = $("nj-q").value.trim();
    s.creating = true;
    showCustomer();
    // What was searched for is most likely the new customer's name or phone.
    if (q && /^[\d\s+\-.()/]+$/.test(q)) { if (!$("nj-phone").value) { $("nj-phone").value = q; } }
    else if (q && !$("nj-name").value) { $("nj-name").value = q; }
    $("nj-name").focus();
  });
  $("nj-find-again").addEventListener("click", function () { s.creating = false; showCustomer(); $("nj-q").focus(); });
  $("nj-change").addEventListener("click", function () {
    s.customer = null; s.sites = []; s.site = "new";
    showCustomer(); renderSites();
    $("nj-q").focus();
  });

  // --- The site -------------------------------------------------------

  function loadSites(customerID) {
    s.sites = []; s.site = "new";
    renderSites();
    var run = s.run;
    return board.api("GET", "/api/v1/locations?limit=50&customer_id=" + customerID).then(function (r) {
      if (run !== s.run || !s.customer || s.customer.id !== customerID) { return; }
      s.sites = r.items;
      s.site = r.items.length ? r.items[0].id : "new";
      renderSites();
    }).catch(function (e) { showErrors(e, "location"); });
  }
  function site() {
    for (var i = 0; i < s.sites.length; i++) { if (s.sites[i].id === s.site) { return s.sites[i]; } }
    return null;
  }
  function renderSites() {
    var box = $("nj-sites");
    box.textContent = "";
    if (s.sites.length) {
      s.sites.forEach(function (l) { box.appendChild(siteChoice(String(l.id), l.address, stateText(l))); });
      if (!s.made.location) { box.appendChild(siteChoice("new", "A new address", "")); }
    }
    $("nj-new-site").hidden = s.site !== "new";
    showVerification($("nj-verification"), site());
    showPin();
  }
  function siteChoice(value, text, state) {
    var lab = el("label"), r = el("input"), span = el("span", text);
    r.type = "radio"; r.name = "nj-site"; r.value = value;
    r.checked = String(s.site) === value;
    r.disabled = !!s.made.location && String(s.made.location.id) !== value;
    r.addEventListener("change", function () {
      s.site = value === "new" ? "new" : Number(value);
      s.pin = null;
      removePinMarker();
      renderSites();
    });
    if (state) { span.appendChild(el("span", " · " + state, "state")); }
    lab.appendChild(r);
    lab.appendChild(span);
    return lab;
  }
  function stateText(l) {
    var v = l.verification || {};
    return v.status === "verified" ? "address verified"
      : v.status === "manual" ? "pin placed by a dispatcher"
      : v.status === "pending" ? "checking the address…"
      : "not verified" + (v.reason ? ": " + v.reason : "");
  }
  // showVerification says whether a site is verified and what that means
  // for the customer; its data-status is the API's.
  function showVerification(p, l) {
    p.className = "verification";
    p.textContent = "";
    delete p.dataset.status;
    if (!l) { return; }
    var v = l.verification || {};
    p.dataset.status = v.status || "";
    if (l.verified) {
      p.classList.add("ok");
      p.textContent = (v.status === "manual" ? "Pin placed by a dispatcher" : "Address verified" + (v.match ? " (" + v.match + ")" : "")) +
        ": the customer gets the map and the ETA.";
    } else if (v.status === "pending") {
      p.classList.add("pending");
      p.textContent = "Checking the address" + (v.reason ? " (" + v.reason + ")" : "") + "… The customer gets the map and the ETA once it is verified.";
    } else {
      p.classList.add("bad");
      p.textContent = "Address not verified" + (v.reason ? ": " + v.reason : "") + ". The customer sees the address only, no map or ETA: place the pin to verify it.";
    }
  }

  // The pin: the next click on the map places it, then the site is
  // created (or changed) with it, verified by the dispatcher.
  $("nj-pin").addEventListener("click", function () { startPlacing("form"); });
  $("nj-done-pin").addEventListener("click", function () { startPlacing("done"); });
  $("map-note-cancel").addEventListener("click", stopPlacing);
  function startPlacing(what) {
    if (!map) { return; }
    placing = what;
    $("map").classList.add("placing");
    $("map-note-text").textContent = "Click or tap the map where the site is.";
    $("map-note").hidden = false;
    $("map").scrollIntoView({ block: "nearest" }); // on a phone, the map is above the panel
  }
  function stopPlacing() {
    placing = null;
    $("map").classList.remove("placing");
    $("map-note").hidden = true;
  }
  if (map) {
    map.on("click", function (ev) {
      if (!placing) { return; }
      var what = placing, ll = ev.latlng.wrap();
      stopPlacing();
      var pin = { lat: Math.round(ll.lat * 1e6) / 1e6, lng: Math.round(ll.lng * 1e6) / 1e6 };
      showPinMarker(pin);
      if (what === "form") {
        s.pin = pin;
        showPin();
        clearError("nj-pin");
        $("nj-pin").scrollIntoView({ block: "nearest" });
      } else {
        pinMade(pin);
      }
    });
  } else {
    $("nj-pin").hidden = true;
  }
  function showPin() {
    $("nj-pin").textContent = s.pin ? "Move the pin" : "Place the pin on the map";
    $("nj-pin-state").textContent = s.pin ? "Pin at " + s.pin.lat.toFixed(5) + ", " + s.pin.lng.toFixed(5) + ": verified by you when the job is created." : "";
  }
  function showPinMarker(pin) {
    removePinMarker();
    pinMarker = L.circleMarker([pin.lat, pin.lng], { radius: 7, weight: 3, color: "#d35400", fillColor: "#fff", fillOpacity: 1, className: "site-pin", interactive: false }).addTo(map);
  }
  function removePinMarker() { if (pinMarker) { pinMarker.remove(); pinMarker = null; } }
  // pinMade pins the site the panel created, from its summary.
  function pinMade(pin) {
    var l = s.made.location, run = s.run;
    board.api("PATCH", "/api/v1/locations/" + l.id, { lat: pin.lat, lng: pin.lng, verified: true }).then(function (nl) {
      if (run !== s.run) { return; }
      s.made.location = nl;
      showDone();
      board.reload();
    }).catch(function (e) {
      if (run !== s.run) { return; }
      $("nj-done-site").className = "verification bad";
      $("nj-done-site").textContent = e.message;
    });
  }

  // --- The job and its window ----------------------------------------

  // The window is typed in the company's time zone, whatever the
  // browser's is (as the board shows times): zoneOffset and wallToUTC
  // turn its wall clock into an instant with Intl.
  function zoneOffset(ms, tz) {
    var p = {};
    new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
      .formatToParts(new Date(ms)).forEach(function (x) { p[x.type] = x.value; });
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second) - Math.floor(ms / 1000) * 1000;
  }
  function wallToUTC(v) {
    var m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)/.exec(v || ""), tz = board.timeZone();
    if (!m) { return null; }
    var wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
    try {
      if (tz) { return new Date(wall - zoneOffset(wall - zoneOffset(wall, tz), tz)).toISOString(); } // twice: across a clock change
    } catch (e) { /* a zone this browser does not know: its own */ }
    return new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]).toISOString();
  }
  // defaultWindow offers the next whole hour, two hours long.
  function defaultWindow() {
    var tz = board.timeZone(), now = Date.now(), wall;
    try { wall = tz ? now + zoneOffset(now, tz) : null; } catch (e) { wall = null; }
    if (wall === null) { wall = now - new Date(now).getTimezoneOffset() * 60000; }
    var start = Math.ceil(wall / 3600000) * 3600000;
    $("nj-start").value = new Date(start).toISOString().slice(0, 16);
    $("nj-end").value = new Date(start + 2 * 3600000).toISOString().slice(0, 16);
    $("nj-zone").textContent = tz ? "Times in " + tz + ", the company's time zone." : "Times in this browser's time zone.";
  }

  function fillTechnicians() {
    var sel = $("nj-tech"), was = sel.value;
    sel.textContent = "";
    var none = el("option", "Pick a technician");
    none.value = "";
    sel.appendChild(none);
    var doing = { dispatched: "on the way", working: "working", idle: "not assigned" };
    board.technicians().forEach(function (t) {
      var o = el("option", t.name + " (" + (doing[t.status] || t.status) + ")");
      o.value = String(t.id);
      sel.appendChild(o);
    });
    sel.value = was;
    if (sel.value !== was) { sel.value = ""; }
  }

  // --- Creating it all ------------------------------------------------

  var busy = false;
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    submit(!ev.submitter || ev.submitter.value === "dispatch");
  });
  function submit(dispatch) {
    if (busy) { return; }
    clearErrors();
    var techID = Number($("nj-tech").value) || 0, missing = {};
    if (!s.customer && !s.creating) { missing["nj-q"] = "Find the customer, or create a new one."; }
    if (!techID) { missing["nj-tech"] = "Pick a technician."; }
    if (Object.keys(missing).length) { Object.keys(missing).forEach(function (id) { showError(id, missing[id]); }); focusFirstError(); return; }
    var who = board.technicians().filter(function (t) { return t.id === techID; }).map(function (t) { return t.name; })[0] || "", run = s.run;
    setBusy(true);
    step("customer", ensureCustomer())
      .then(function (c) { return step("location", ensureLocation(c)); })
      .then(function (l) { return step("job", ensureJob(l)); })
      .then(function (j) { return step("assignment", ensureAssignment(j, techID)); })
      .then(function (a) {
        if (!dispatch) { board.reload(); return { ok: true, text: who + " is scheduled: dispatch the job from To dispatch when it is time." }; }
        return board.move(a.id, "dispatch", who, s.made.job);
      })
      .then(function (outcome) { if (run === s.run) { done(outcome); } })
      .catch(function (e) { if (run === s.run) { showErrors(e, e.step); } })
      .then(function () { setBusy(false); });
  }
  function step(name, p) { return p.catch(function (e) { e.step = e.step || name; throw e; }); }
  function setBusy(on) {
    busy = on;
    $("nj-dispatch").disabled = on;
    $("nj-schedule").disabled = on;
    $("nj-dispatch").textContent = on ? "Creating…" : "Create and dispatch";
  }

  function ensureCustomer() {
    if (s.customer) { return Promise.resolve(s.customer); }
    var body = { name: $("nj-name").value.trim() };
    ["phone", "email"].forEach(function (k) { var v = $("nj-" + k).value.trim(); if (v) { body[k] = v; } });
    return board.api("POST", "/api/v1/customers", body).then(function (c) {
      s.customer = c;
      s.creating = false;
      s.sites = [];
      s.site = "new";
      showCustomer();
      return c;
    });
  }
  function ensureLocation(c) {
    if (s.made.location) { return Promise.resolve(s.made.location); }
    var l = site();
    if (l && !s.pin) { return Promise.resolve(l); }
    var req = l ? board.api("PATCH", "/api/v1/locations/" + l.id, { lat: s.pin.lat, lng: s.pin.lng, verified: true })
      : board.api("POST", "/api/v1/locations", Object.assign({ customer_id: c.id, address: $("nj-address").value.trim() },
        s.pin ? { lat: s.pin.lat, lng: s.pin.lng, verified: true } : {}));
    return req.then(function (nl) {
      if (!l) { s.made.location = nl; s.sites.push(nl); }
      else { s.sites[s.sites.indexOf(l)] = nl; }
      s.site = nl.id;
      s.pin = null;
      removePinMarker();
      showCustomer();
      renderSites();
      return nl;
    });
  }
  function ensureJob(l) {
    if (s.made.job) { return Promise.resolve(s.made.job); }
    var body = { number: $("nj-number").value.trim(), customer_id: s.customer.id, location_id: l.id };
    var start = wallToUTC($("nj-start").value), end = wallToUTC($("nj-end").value);
    if (start) { body.window_start = start; }
    if (end) { body.window_end = end; }
    return board.api("POST", "/api/v1/jobs", body).then(function (j) {
      s.made.job = j;
      // Made: a retry (another technician) does not make it again.
      ["nj-number", "nj-start", "nj-end"].forEach(function (id) { $(id).readOnly = true; });
      return j;
    });
  }
  function ensureAssignment(j, techID) {
    if (s.made.assignment) { return Promise.resolve(s.made.assignment); }
    return board.api("POST", "/api/v1/jobs/" + j.id + "/assignments", { technician_id: techID }).then(function (a) {
      s.made.assignment = a;
      return a;
    });
  }

  // done shows what was made and what came of the dispatch; a site still
  // being checked is read again every 2 s (up to two minutes), and one
  // that is not verified can be pinned from here.
  function done(outcome) {
    form.hidden = true;
    $("nj-done").hidden = false;
    var j = s.made.job, l = s.made.location || site();
    s.outcome = outcome;
    s.summary = j.number + " created for " + s.customer.name + (l ? " at " + l.address : "") + ". ";
    s.made.location = l;
    showDone();
    watchSite(s.run, 0);
    $("nj-another").focus();
  }
  function showDone() {
    var l = s.made.location;
    $("nj-done-text").textContent = s.summary + (s.outcome ? s.outcome.text : "");
    $("nj-done-text").className = s.outcome && !s.outcome.ok ? "error" : "";
    showVerification($("nj-done-site"), l);
    $("nj-done-pin").hidden = !l || l.verified || !map;
  }
  function watchSite(run, n) {
    var l = s.made.location;
    if (!l || l.verification.status !== "pending" || n >= 60) { return; }
    setTimeout(function () {
      if (run !== s.run) { return; }
      board.api("GET", "/api/v1/locations/" + l.id).then(function (nl) {
        if (run !== s.run) { return; }
        s.made.location = nl;
        showDone();
        watchSite(run, n + 1);
      }).catch(function () { watchSite(run, n + 1); });
    }, 2000);
  }
  $("nj-another").addEventListener("click", function () { reset(); fillTechnicians(); $("nj-q").focus(); });

  // --- Errors next to their fields -------------------------------------

  function showErrors(e, stepName) {
    var fields = e.fields || {}, byInput = inputs[stepName] || {}, rest = [];
    Object.keys(fields).forEach(function (f) {
      var id = byInput[f];
      if (id && $(id + "-error")) { showError(id, fields[f]); } else { rest.push(f + " " + fields[f]); }
    });
    if (rest.length || !Object.keys(fields).length) {
      $("nj-error").textContent = e.message + (rest.length ? " " + rest.join("; ") + "." : "");
      $("nj-error").hidden = false;
    }
    focusFirstError();
  }
  // showError writes msg (the API's "is required", "must be a phone
  // number") under the input id, in the form's words.
  function showError(id, msg) {
    var p = $(id + "-error");
    msg = msg.replace(/\bwindow_start\b/g, "the window's start").replace(/\bwindow_end\b/g, "the window's end");
    p.textContent = msg.charAt(0).toUpperCase() + msg.slice(1);
    p.hidden = false;
    $(id).setAttribute("aria-invalid", "true");
  }
  function clearError(id) {
    var p = $(id + "-error");
    if (p) { p.textContent = ""; p.hidden = true; }
    $(id).removeAttribute("aria-invalid");
  }
  function clearErrors() {
    panel.querySelectorAll(".field-error").forEach(function (p) { clearError(p.id.replace(/-error$/, "")); });
    $("nj-error").hidden = true;
    $("nj-error").textContent = "";
  }
  function focusFirstError() {
    var bad = panel.querySelector("[aria-invalid=true]");
    if (bad && !bad.closest("[hidden]")) { bad.focus(); }
  }
  ["nj-name", "nj-phone", "nj-email", "nj-address", "nj-number", "nj-start", "nj-end", "nj-tech"].forEach(function (id) {
    $(id).addEventListener("input", function () { clearError(id); });
  });

  // --- Opening and closing ------------------------------------------------

  function open() {
    if (panel.hidden) { fillTechnicians(); }
    panel.hidden = false;
    $("new-job-open").setAttribute("aria-expanded", "true");
    panel.scrollIntoView({ block: "nearest" });
    if (!form.hidden && !$("nj-find").hidden) { $("nj-q").focus(); }
  }
  function close() {
    panel.hidden = true;
    $("new-job-open").setAttribute("aria-expanded", "false");
    reset();
    $("new-job-open").focus();
  }
  // A second click brings the open panel into view; only Close closes it
  // (and forgets what was typed).
  $("new-job-open").addEventListener("click", open);
  $("nj-close").addEventListener("click", close);
  // Escape gives up placing a pin (never the panel: it also closes a
  // date picker, and what was typed would be lost).
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape" && placing) { stopPlacing(); } });

  reset();
  return { open: open, close: close };
};
