// The customer's tracking page: renders /t/{token}/state, then follows
// /t/{token}/live; once the visit is done, asks for feedback
// (POST /t/{token}/feedback). No framework; Leaflet draws the map when it
// is there. Everything the server sends is set as text, never as HTML.
//
// A crew (several technicians sent to one site, the limit rule's case:
// the customer has one link, for the first one's assignment): the
// state's "crew" lists the others, each followed over a stream of its
// own, /t/{token}/live?assignment={id}, and shown in a row of its own
// and as a marker on the one map. The state is read again every 30 s
// while anything can change, and on each status event, which brings
// technicians dispatched later and lets finished ones go.
//
// Strings come from tracking-i18n.js, in the state's language; dates and
// numbers are formatted in its locale and the company's time zone.
(function () {
  "use strict";
  var token = location.pathname.split("/")[2];
  var base = "/t/" + encodeURIComponent(token);
  var $ = function (id) { return document.getElementById(id); };
  var state = null, map = null, techMarker = null, lastFixAt = null, etaAt = null, ws = null, retry = 0, ticking = false;
  var clock = {}; // the arrival's minutes shown (steadyClock)
  // crew: assignment id -> a crew member: m (its part of the state), el
  // (its row), ws, retry, marker, etaAt, etaEarly, etaLate, clock,
  // distance, gone (no longer shown).
  var crew = {};
  // Before the state names the language: the phone's, if the page has it.
  var t = TrackingI18n.translator((navigator.language || "en").split("-")[0]);

  var statusClass = { working: "arrived", done: "completed", cancelled: "cancelled" };
  var statusRank = { dispatched: 1, working: 2, done: 3, cancelled: 3 };

  function inactive() { location.replace(base); } // the server answers the inactive page

  // applyLanguage sets the page's language and the text of every element
  // that names its string (data-i18n; data-i18n-aria for its label).
  function applyLanguage() {
    t = TrackingI18n.translator(state.language);
    document.documentElement.lang = state.language || "en";
    document.querySelectorAll("[data-i18n]").forEach(function (el) {
      el.textContent = t(el.dataset.i18n, { n: parseInt(el.dataset.n, 10) });
    });
    document.querySelectorAll("[data-i18n-aria]").forEach(function (el) { el.setAttribute("aria-label", t(el.dataset.i18nAria)); });
  }

  // Times read in the company's zone, as the customer's messages give them
  // (the page may be opened on a phone set to another), written as the
  // page's locale writes them; in the browser's own zone when it does not
  // know the company's.
  function fmt(d, opts) {
    var locale = (state && state.locale) || undefined;
    try { return d.toLocaleString(locale, Object.assign({ timeZone: state.company.time_zone || undefined }, opts)); }
    catch (e) { return d.toLocaleString(locale, opts); }
  }
  function fmtClock(d) { return fmt(d, { hour: "numeric", minute: "2-digit" }); }
  // fmtRange: "10:42 – 10:50 AM", as the locale writes a range of times.
  function fmtRange(a, b) {
    var opts = { hour: "numeric", minute: "2-digit" };
    try {
      return new Intl.DateTimeFormat((state && state.locale) || undefined, Object.assign({ timeZone: state.company.time_zone || undefined }, opts)).formatRange(a, b);
    } catch (e) { return fmtClock(a) + " – " + fmtClock(b); }
  }
  // steadyMinute is the minute (its start, in ms) to show for the time t
  // when minute is shown: it moves only once t has passed the shown
  // minute's edge by minuteSlack (the server's eta.ShownMinute), so an
  // arrival hovering at a minute's edge is not shown going back and forth.
  var minuteSlack = 20000;
  function steadyMinute(minute, t) {
    if (minute != null && t >= minute - minuteSlack && t < minute + 60000 + minuteSlack) { return minute; }
    return Math.floor(t / 60000) * 60000;
  }
  // steadyClock is the text for an arrival and its range (early and late,
  // when the model has one: "10:42 – 10:50 AM"), each minute steady (s
  // keeps the minutes shown).
  function steadyClock(s, eta, early, late) {
    s.eta = steadyMinute(s.eta, eta.getTime());
    if (!early || !late) { s.early = s.late = null; return fmtClock(new Date(s.eta)); }
    s.early = steadyMinute(s.early, early.getTime());
    s.late = steadyMinute(s.late, late.getTime());
    if (s.late <= s.early) { return fmtClock(new Date(s.eta)); }
    return fmtRange(new Date(s.early), new Date(s.late));
  }
  function dateOr(v) { return v ? new Date(v) : null; }
  function fmtDay(d) { return fmt(d, { weekday: "short", month: "short", day: "numeric" }); }
  // fmtWindow: "9:00 AM – 11:00 AM", its day named unless it is today.
  function fmtWindow(a, b) {
    var da = fmtDay(a), db = fmtDay(b);
    if (da !== db) { return da + ", " + fmtClock(a) + " – " + db + ", " + fmtClock(b); }
    var times = fmtClock(a) + " – " + fmtClock(b);
    return da === fmtDay(new Date()) ? times : t("window_on", { times: times, day: da });
  }
  function fmtNumber(n, digits) {
    try { return n.toLocaleString(state.locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }); }
    catch (e) { return n.toFixed(digits); }
  }
  // Miles where the phone reads them (en-US), else metres.
  function fmtDistance(m) {
    var miles = /^en-US/.test(navigator.language || "en-US");
    if (miles) { var mi = m / 1609.344; return mi < 0.2 ? Math.round(m * 3.28084 / 10) * 10 + " ft" : fmtNumber(mi, 1) + " mi"; }
    return m < 1000 ? Math.round(m / 10) * 10 + " m" : fmtNumber(m / 1000, 1) + " km";
  }
  function minutesTo(at) { return Math.max(1, Math.round((at - Date.now()) / 60000)); }

  // The company's colour, through CSS custom properties (the CSP allows
  // no inline style, but a script's setProperty is not one): --brand, with
  // --brand-fg to write on it (white, or dark on a light colour) and
  // --brand-ink for text on white (the brand, or the accent when the brand
  // is too light to read: WCAG's 4.5:1).
  function applyBrand(hex) {
    if (!/^#[0-9a-f]{6}$/i.test(hex || "")) { return; }
    var lum = [1, 3, 5].map(function (i) {
      var c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var l = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2], dark = 1.05 / (l + 0.05) >= 4.5;
    var root = document.documentElement.style;
    root.setProperty("--brand", hex);
    root.setProperty("--brand-fg", dark ? "#fff" : "#17202a");
    root.setProperty("--brand-ink", dark ? hex : "#0b6bcb");
  }

  // initial is the first letter of a first name, for the placeholder
  // avatar (a whole character, not half of a surrogate pair).
  function initial(name) { return (Array.from(name || "")[0] || "?").toUpperCase(); }

  // portrait shows tech's photo in img, or the placeholder (their initial
  // in avatar) when there is none or it fails to load.
  function portrait(img, avatar, tech) {
    var url = tech.photo_url;
    var placeholder = function () { img.hidden = true; avatar.textContent = initial(tech.first_name); avatar.hidden = false; };
    if (!url) { placeholder(); return; }
    img.onerror = placeholder;
    img.alt = t("photo_of", { name: tech.first_name });
    if (img.getAttribute("src") !== url) { img.src = url; }
    img.hidden = false; avatar.hidden = true;
  }

  // showRating writes a rating as stars into el; the state has one only
  // at 4.0 or more.
  function showRating(el, rating) {
    el.hidden = typeof rating !== "number";
    if (el.hidden) { return; }
    var full = Math.round(rating);
    el.textContent = "★★★★★".slice(0, full) + "☆☆☆☆☆".slice(0, 5 - full) + " " + fmtNumber(rating, 1);
    el.setAttribute("aria-label", t("rated", { rating: fmtNumber(rating, 1) }));
  }

  // statusLine is what a status says: when they arrived, when the visit
  // was done.
  function statusLine(status, arrivedAt, completedAt) {
    if (status === "working" && arrivedAt) { return t("arrived_at", { time: fmtClock(new Date(arrivedAt)) }); }
    if (status === "done" && completedAt) { return t("completed_at", { time: fmtClock(new Date(completedAt)) }); }
    return t("status_" + status);
  }

  function render() {
    var s = state;
    applyLanguage();
    document.title = s.technician.first_name + " · " + s.company.name;
    applyBrand(s.company.brand_color);
    $("company-name").textContent = s.company.name;
    if (s.company.logo_url) { $("logo").src = s.company.logo_url; $("logo").alt = s.company.name; $("logo").hidden = false; }
    $("tech-name").textContent = s.technician.first_name;
    portrait($("photo"), $("avatar"), s.technician);
    showRating($("rating"), s.technician.rating);
    $("address").textContent = s.destination.address;
    $("window").textContent = t("window", { window: fmtWindow(new Date(s.window.start), new Date(s.window.end)) });
    if (s.company.phone) { $("phone").textContent = s.company.phone_display || s.company.phone; $("phone").href = "tel:" + s.company.phone; $("phone-line").hidden = false; }
    renderStatus();
    syncCrew();
    document.querySelector("main").setAttribute("aria-busy", "false");
  }

  function enRoute() { return state.status === "dispatched" && state.destination.verified; }

  function finished() { return state.status === "done" || state.status === "cancelled"; }

  function renderStatus() {
    var st = $("status");
    st.textContent = statusLine(state.status, state.arrived_at, state.completed_at);
    st.className = "status " + (statusClass[state.status] || "");
    // The code to ask for at the door, while someone may still come.
    var code = state.technician.verification_code;
    $("code").hidden = !code || finished();
    $("code-digits").textContent = code || "";
    renderFeedback();
    if (!enRoute()) { // arrived, completed, cancelled, or an unverified address: no position
      $("eta").hidden = true; $("stale").hidden = true; $("waiting").hidden = true;
      etaAt = null; clock = {};
      if (techMarker) { techMarker.remove(); techMarker = null; }
    } else if (state.eta) {
      showETA(state.distance_m, new Date(state.eta), dateOr(state.eta_early), dateOr(state.eta_late));
    }
    renderMap();
    if (enRoute() && state.position) { moveTo(state.position); }
    updateWaiting();
  }

  // updateWaiting says so while no position has come: on the way, but the
  // technician's phone has not been heard from yet.
  function updateWaiting() {
    var waiting = enRoute() && !lastFixAt;
    $("waiting").hidden = !waiting;
    $("waiting").textContent = waiting ? t("waiting", { name: state.technician.first_name }) : "";
  }

  function showETA(distance, eta, early, late) {
    etaAt = eta;
    $("eta").hidden = false;
    $("eta-clock").textContent = steadyClock(clock, eta, early, late);
    // The range shown, as times (the map gives its marker's so too).
    $("eta-clock").dataset.early = clock.early ? new Date(clock.early).toISOString() : "";
    $("eta-clock").dataset.late = clock.late ? new Date(clock.late).toISOString() : "";
    $("distance").textContent = fmtDistance(distance);
    showMinutes();
  }

  // showMinutes counts the minutes to each ETA again: between estimates
  // (none come while the phone is silent) they would otherwise stand still.
  function showMinutes() {
    if (etaAt) { $("eta-min").textContent = " " + t("in_minutes", { n: minutesTo(etaAt) }); }
    eachCrew(renderMember);
  }

  // The map: while anyone (the link's technician or the crew's) is on
  // the way to a verified address. It shows the address's pin and a
  // round marker per technician on the way; with a crew, each marker
  // carries its first name.
  function wantMap() {
    if (!state.destination.verified) { return false; }
    return enRoute() || Object.keys(crew).some(function (id) { return crewEnRoute(crew[id]); });
  }

  function renderMap() {
    var el = $("map"), several = state.crew && state.crew.length > 0;
    el.classList.toggle("crew-map", several);
    el.setAttribute("aria-label", t(several ? "map_label_crew" : "map_label"));
    $("legend-tech").textContent = t(several ? "legend_techs" : "legend_tech");
    if (!wantMap()) {
      el.hidden = true; $("legend").hidden = true;
      if (map) { map.remove(); map = null; techMarker = null; eachCrew(function (c) { c.marker = null; }); }
      return;
    }
    el.hidden = false;
    $("legend").hidden = false;
    if (map || !window.L) { return; }
    var d = [state.destination.lat, state.destination.lng];
    map = L.map(el, { zoomControl: true, attributionControl: true }).setView(d, 14);
    L.tileLayer(state.map.tile_url, { maxZoom: 19, attribution: state.map.attribution }).addTo(map);
    var home = document.createElement("div");
    home.className = "home-marker";
    // The pin's tip, turned down by the rotation, is 20 px below its centre.
    L.marker(d, { title: t("legend_home"), icon: L.divIcon({ className: "", html: home, iconSize: [28, 28], iconAnchor: [14, 34] }) }).addTo(map);
  }

  // techIcon is a technician's marker: round, with the photo, or the
  // initial when there is none or it fails to load, and their first name
  // under it (shown when there is a crew: .crew-map).
  function techIcon(tech) {
    var pin = document.createElement("div"), el = document.createElement("div"), label = document.createElement("span");
    pin.className = "tech-pin";
    el.className = "tech-marker";
    if (tech.photo_url) {
      var img = document.createElement("img");
      img.alt = "";
      img.onerror = function () { el.textContent = initial(tech.first_name); };
      img.src = tech.photo_url;
      el.appendChild(img);
    } else {
      el.textContent = initial(tech.first_name);
    }
    label.className = "tech-label";
    label.textContent = tech.first_name;
    pin.appendChild(el);
    pin.appendChild(label);
    return L.divIcon({ className: "", html: pin, iconSize: [40, 40], iconAnchor: [20, 20] });
  }

  // place puts a technician's marker at p (made when missing, and then
  // the map fitted to every marker and the address) and returns it.
  function place(marker, tech, p) {
    if (!map || !window.L) { return marker; }
    var ll = [p.lat, p.lng];
    if (marker) { marker.setLatLng(ll); return marker; }
    marker = L.marker(ll, { title: tech.first_name, icon: techIcon(tech), zIndexOffset: 1000 }).addTo(map);
    var pts = [ll, [state.destination.lat, state.destination.lng]];
    if (techMarker) { pts.push(techMarker.getLatLng()); }
    eachCrew(function (c) { if (c.marker) { pts.push(c.marker.getLatLng()); } });
    map.fitBounds(L.latLngBounds(pts).pad(0.3), { maxZoom: 16 });
    return marker;
  }

  function moveTo(p) {
    lastFixAt = new Date(p.ts);
    updateStale();
    updateWaiting();
    techMarker = place(techMarker, state.technician, p);
    $("map").dataset.lat = p.lat; $("map").dataset.lng = p.lng; // for tests and assistive tools
  }

  function updateStale() {
    if (!lastFixAt || !enRoute()) { $("stale").hidden = true; return; }
    var min = Math.floor((Date.now() - lastFixAt) / 60000);
    $("stale").hidden = min < 2;
    $("stale").textContent = t("stale", { n: min });
  }

  // live opens a stream (the link's own, or a crew member's with query).
  function live(query) {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    return new WebSocket(proto + "//" + location.host + base + "/live" + query);
  }

  function connect() {
    ws = live("");
    ws.onopen = function () { retry = 0; };
    ws.onmessage = function (ev) { handle(JSON.parse(ev.data)); };
    ws.onclose = function (ev) {
      if (ev.code === 1008) { inactive(); return; } // the link expired
      if (finished()) { return; }
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * Math.pow(2, retry)); // reconnect after a drop
    };
  }

  // handle applies one message of the live stream; a "batch" holds several
  // (a position and the ETA it gave arrive together).
  function handle(m) {
    if (m.type === "batch") {
      m.messages.forEach(handle);
    } else if (m.type === "snapshot") {
      var changed = m.status !== state.status; // while the stream was down
      state.status = m.status;
      state.arrived_at = m.arrived_at || state.arrived_at;
      if (m.position) { state.position = m.position; }
      renderStatus();
      if (changed) { reread(); } // what came with it; a read begun before this one is older
    } else if (m.type === "position" && enRoute()) {
      moveTo(m);
    } else if (m.type === "progress" && enRoute()) {
      showETA(m.distance_m, new Date(m.eta), dateOr(m.eta_early), dateOr(m.eta_late));
    } else if (m.type === "status") {
      state.status = m.status;
      state.arrived_at = m.arrived_at || state.arrived_at;
      renderStatus();
      reread(); // when it was completed, whether feedback was given, the crew; the same status again: the site changed
    }
  }

  // The crew.

  function eachCrew(fn) { Object.keys(crew).forEach(function (id) { fn(crew[id]); }); }

  function crewEnRoute(c) { return c.m.status === "dispatched" && state.destination.verified; }

  // syncCrew follows state.crew: a row and a stream for each member, the
  // ones no longer in it (finished, or gone elsewhere) dropped. A live
  // status may be newer than a state read before it came: the later of
  // the two stands.
  function syncCrew() {
    var listed = {};
    (state.crew || []).forEach(function (m) {
      listed[m.assignment_id] = true;
      var c = crew[m.assignment_id];
      if (!c) {
        c = crew[m.assignment_id] = { m: m, retry: 0, el: crewRow() };
        $("crew-list").appendChild(c.el.li);
      } else if ((statusRank[c.m.status] || 0) > (statusRank[m.status] || 0)) {
        m.status = c.m.status; m.arrived_at = c.m.arrived_at || m.arrived_at;
      }
      if (!m.position && c.m.position) { m.position = c.m.position; }
      if (m.eta) { crewETA(c, m); }
      c.m = m;
      if (!c.ws) { crewConnect(c); }
      crewUpdate(c);
    });
    eachCrew(function (c) { if (!listed[c.m.assignment_id]) { dropCrew(c); } });
    $("crew").hidden = Object.keys(crew).length === 0;
    renderMap();
    eachCrew(function (c) { if (crewEnRoute(c) && c.m.position) { c.marker = place(c.marker, c.m.technician, c.m.position); } });
  }

  // crewRow makes a crew member's row: portrait, name and rating, status,
  // ETA, code; filled by renderMember.
  function crewRow() {
    var mk = function (tag, cls, parent) { var e = document.createElement(tag); e.className = cls; if (parent) { parent.appendChild(e); } return e; };
    var r = { li: mk("li", "crew-member") };
    var pic = mk("div", "crew-portrait", r.li), body = mk("div", "crew-body", r.li), head = mk("p", "crew-name", body);
    r.img = mk("img", "", pic); r.img.hidden = true;
    r.avatar = mk("span", "avatar", pic); r.avatar.setAttribute("aria-hidden", "true");
    r.name = mk("strong", "", head);
    r.rating = mk("span", "rating", head);
    r.status = mk("p", "crew-status", body);
    r.eta = mk("p", "crew-eta", body);
    r.code = mk("p", "crew-code", body);
    return r;
  }

  function renderMember(c) {
    var m = c.m, r = c.el;
    r.li.dataset.assignment = m.assignment_id;
    r.name.textContent = m.technician.first_name;
    portrait(r.img, r.avatar, m.technician);
    showRating(r.rating, m.technician.rating);
    r.status.textContent = statusLine(m.status, m.arrived_at);
    r.status.className = "crew-status " + (statusClass[m.status] || "");
    var eta = "";
    if (crewEnRoute(c)) {
      eta = c.etaAt ? t("arriving") + " " + steadyClock(c.clock, c.etaAt, c.etaEarly, c.etaLate) + " · " + t("in_minutes", { n: minutesTo(c.etaAt) }) + " · " + fmtDistance(c.distance)
        : (m.position ? "" : t("waiting", { name: m.technician.first_name }));
    }
    r.eta.textContent = eta;
    r.eta.hidden = !eta;
    r.code.textContent = m.technician.verification_code ? t("crew_code", { code: m.technician.verification_code }) : "";
    r.code.hidden = !m.technician.verification_code;
  }

  // crewETA keeps a crew member's distance, ETA and its range from m (its
  // state, or a progress message).
  function crewETA(c, m) {
    c.etaAt = new Date(m.eta); c.etaEarly = dateOr(m.eta_early); c.etaLate = dateOr(m.eta_late);
    c.distance = m.distance_m;
    c.clock = c.clock || {};
  }

  // crewUpdate shows a change of c: its row, and its marker only while on
  // the way.
  function crewUpdate(c) {
    if (!crewEnRoute(c)) {
      c.etaAt = null;
      if (c.marker) { c.marker.remove(); c.marker = null; }
    }
    renderMember(c);
  }

  function dropCrew(c) {
    c.gone = true;
    if (c.ws) { c.ws.close(); }
    if (c.marker) { c.marker.remove(); }
    c.el.li.remove();
    delete crew[c.m.assignment_id];
  }

  // crewConnect follows one crew member. A drop is followed by reading
  // the state again, which connects again if they are still in the crew.
  function crewConnect(c) {
    var s = c.ws = live("?assignment=" + encodeURIComponent(c.m.assignment_id));
    s.onopen = function () { c.retry = 0; };
    s.onmessage = function (ev) { crewHandle(c, JSON.parse(ev.data)); };
    s.onclose = function (ev) {
      if (c.ws === s) { c.ws = null; }
      if (c.gone) { return; }
      if (ev.code === 1008) { inactive(); return; }
      c.retry = Math.min(c.retry + 1, 6);
      setTimeout(reread, 500 * Math.pow(2, c.retry));
    };
  }

  function crewHandle(c, m) {
    if (c.gone) { return; }
    if (m.type === "batch") {
      m.messages.forEach(function (x) { crewHandle(c, x); });
    } else if (m.type === "snapshot" || m.type === "status") {
      c.m.status = m.status;
      c.m.arrived_at = m.arrived_at || c.m.arrived_at;
      if (m.position) { c.m.position = m.position; }
      if (m.status === "done" || m.status === "cancelled") { dropCrew(c); $("crew").hidden = Object.keys(crew).length === 0; renderMap(); return; }
      crewUpdate(c);
      renderMap();
      if (crewEnRoute(c) && c.m.position) { c.marker = place(c.marker, c.m.technician, c.m.position); }
      if (m.type === "status") { reread(); }
    } else if (m.type === "position" && crewEnRoute(c)) {
      c.m.position = m;
      c.marker = place(c.marker, c.m.technician, m);
      renderMember(c);
    } else if (m.type === "progress" && crewEnRoute(c)) {
      crewETA(c, m);
      renderMember(c);
    }
  }

  // reread reads the whole state again and shows it. Reads overlap (a
  // status, then the next, each reads it) and their answers can come back
  // out of order: only the newest read's answer is shown, or an older one
  // would take the page back ("arrived" again after "completed").
  var reads = 0, readRetry = 0;
  function reread() {
    var n = ++reads;
    fetch(base + "/state", { cache: "no-store" }).then(function (r) {
      if (r.status === 404) { inactive(); return null; } // the link expired
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    }).then(function (s) {
      if (n !== reads) { return; }
      readRetry = 0;
      if (s) { showState(s); }
    }, function () {
      // The newest read failed, and the page would keep what it has for
      // good (a finished visit reads nothing more): read again, later
      // each time.
      if (n !== reads) { return; }
      readRetry = Math.min(readRetry + 1, 6);
      setTimeout(reread, 500 * Math.pow(2, readRetry));
    });
  }

  // showState shows a state read. Whether the address is verified decides
  // what the live streams carry, so a change of it (or of the pin) takes a
  // new map and new streams.
  function showState(s) {
    var a = state.destination, b = s.destination;
    var moved = a.verified !== b.verified || a.lat !== b.lat || a.lng !== b.lng;
    state = s;
    if (moved) {
      if (map) { map.remove(); map = null; techMarker = null; eachCrew(function (c) { c.marker = null; }); }
      eachCrew(function (c) { c.m.position = null; if (c.ws) { c.retry = 0; c.ws.close(); } }); // onclose reads the state again
    }
    render();
    if (moved && ws) { retry = 0; ws.close(); } // onclose connects again
  }

  // Feedback, once the visit is done: 1 to 5 stars (radio buttons,
  // drawn as stars) and a comment, sent once.
  function renderFeedback() {
    var done = state.status === "done";
    $("feedback").hidden = !done;
    if (done && state.feedback) { thank(); }
  }
  function thank() {
    $("feedback-form").hidden = true;
    $("feedback-title").textContent = t("feedback_done_title");
    $("thanks").textContent = t("thanks");
    $("thanks").hidden = false;
  }
  function chosen() {
    var r = document.querySelector("#feedback-form input[name=rating]:checked");
    return r ? parseInt(r.value, 10) : 0;
  }
  function paintStars() {
    var n = chosen();
    document.querySelectorAll("#feedback-form .stars label").forEach(function (l, i) { l.classList.toggle("on", i < n); });
  }
  function feedbackError(text) { $("feedback-error").textContent = text; $("feedback-error").hidden = !text; }
  document.querySelectorAll("#feedback-form input[name=rating]").forEach(function (r) { r.addEventListener("change", function () { paintStars(); feedbackError(""); }); });
  $("comment").addEventListener("input", function () { $("comment-count").textContent = $("comment").value.length + " / 1000"; });
  $("feedback-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var rating = chosen();
    if (!rating) { feedbackError(t("choose_stars")); $("star-1").focus(); return; }
    $("feedback-send").disabled = true;
    feedbackError("");
    fetch(base + "/feedback", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ rating: rating, comment: $("comment").value }) }).then(function (r) {
      if (r.status === 404) { inactive(); return; }
      return r.json().catch(function () { return null; }).then(function (body) {
        if (r.ok || r.status === 409) { // sent now, or before (another tab)
          state.feedback = { rating: rating };
          thank();
          $("thanks").focus();
          return;
        }
        // The server's messages are English: other languages say it their way.
        feedbackError(state.language === "en" && body && body.error ? body.error.message : t("send_failed"));
      });
    }).catch(function () {
      feedbackError(t("send_offline"));
    }).then(function () { $("feedback-send").disabled = false; });
  });

  // The dispatcher's receipt: the page was opened, here, in a browser
  // (a messaging app's link preview fetches the page but runs nothing).
  fetch(base + "/opened", { method: "POST" }).catch(function () {});

  function load() {
    fetch(base + "/state", { cache: "no-store" }).then(function (r) {
      if (r.status === 404) { inactive(); return null; }
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    }).then(function (s) {
      if (!s) { return; }
      state = s;
      render();
      if (!finished()) { connect(); } // a finished visit has nothing more to say
      if (!ticking) {
        ticking = true;
        setInterval(function () { updateStale(); showMinutes(); }, 5000);
        // Every 30 s, while the visit or its crew goes on: crew members
        // dispatched since (no stream tells of them), and any change a
        // dropped stream missed.
        setInterval(function () { if (!finished() || Object.keys(crew).length) { reread(); } }, 30000);
      }
    }).catch(function () { // offline or a server error: try again
      $("status").textContent = t("connecting");
      setTimeout(load, 5000);
    });
  }
  load();
})();
