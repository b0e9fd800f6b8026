// The customer's tracking page: renders /t/{token}/state, then follows
// /t/{token}/live. No framework; Leaflet draws the map when it is there.
(function () {
  "use strict";
  var token = location.pathname.split("/")[2];
  var base = "/t/" + encodeURIComponent(token);
  var $ = function (id) { return document.getElementById(id); };
  var state = null, map = null, techMarker = null, lastFixAt = null, etaAt = null, ws = null, retry = 0;

  var statusText = {
    scheduled: "Your visit is scheduled",
    dispatched: "On the way",
    working: "Arrived",
    done: "Completed",
    cancelled: "Cancelled"
  };
  var statusClass = { working: "arrived", done: "completed", cancelled: "cancelled" };

  function inactive() { location.replace(base); } // the server answers the inactive page

  // Times read in the company's zone, as the customer's messages give them
  // (the page may be opened on a phone set to another); in the browser's
  // own when it does not know the zone.
  function fmt(d, opts) {
    try { return d.toLocaleString([], Object.assign({ timeZone: state.company.time_zone || undefined }, opts)); }
    catch (e) { return d.toLocaleString([], opts); }
  }
  function fmtClock(d) { return fmt(d, { hour: "numeric", minute: "2-digit" }); }
  function fmtDay(d) { return fmt(d, { weekday: "short", month: "short", day: "numeric" }); }
  // fmtWindow: "9:00 AM – 11:00 AM", its day named unless it is today.
  function fmtWindow(a, b) {
    var da = fmtDay(a), db = fmtDay(b);
    if (da !== db) { return da + ", " + fmtClock(a) + " – " + db + ", " + fmtClock(b); }
    return fmtClock(a) + " – " + fmtClock(b) + (da === fmtDay(new Date()) ? "" : " on " + da);
  }
  function fmtDistance(m) {
    var miles = /^en-US/.test(navigator.language || "en-US");
    if (miles) { var mi = m / 1609.344; return mi < 0.2 ? Math.round(m * 3.28084 / 10) * 10 + " ft" : mi.toFixed(1) + " mi"; }
    return m < 1000 ? Math.round(m / 10) * 10 + " m" : (m / 1000).toFixed(1) + " km";
  }

  function render() {
    var s = state;
    document.title = s.technician.first_name + " · " + s.company.name;
    $("company-name").textContent = s.company.name;
    if (s.company.logo_url) { $("logo").src = s.company.logo_url; $("logo").alt = s.company.name; $("logo").hidden = false; }
    $("tech-name").textContent = s.technician.first_name;
    if (s.technician.photo_url) { $("photo").src = s.technician.photo_url; $("photo").alt = "Photo of " + s.technician.first_name; $("photo").hidden = false; }
    if (typeof s.technician.rating === "number") { // present only at 4.0 or more
      var full = Math.round(s.technician.rating);
      $("rating").textContent = "★★★★★".slice(0, full) + "☆☆☆☆☆".slice(0, 5 - full) + " " + s.technician.rating.toFixed(1);
      $("rating").setAttribute("aria-label", "Rated " + s.technician.rating.toFixed(1) + " out of 5");
      $("rating").hidden = false;
    }
    $("address").textContent = s.destination.address;
    $("window").textContent = "Arrival window " + fmtWindow(new Date(s.window.start), new Date(s.window.end));
    if (s.company.phone) { $("phone").textContent = s.company.phone_display || s.company.phone; $("phone").href = "tel:" + s.company.phone; $("phone-line").hidden = false; }
    renderStatus();
    document.querySelector("main").setAttribute("aria-busy", "false");
  }

  function enRoute() { return state.status === "dispatched" && state.destination.verified; }

  function renderStatus() {
    var st = $("status");
    st.textContent = statusText[state.status] || state.status;
    if (state.status === "working" && state.arrived_at) { st.textContent += " at " + fmtClock(new Date(state.arrived_at)); }
    st.className = "status " + (statusClass[state.status] || "");
    if (!enRoute()) { // arrived, completed, cancelled, or an unverified address: no position
      $("eta").hidden = true; $("map").hidden = true; $("stale").hidden = true;
      if (map) { map.remove(); map = null; techMarker = null; }
      return;
    }
    if (state.eta) { showETA(state.distance_m, new Date(state.eta)); }
    showMap();
    if (state.position) { moveTo(state.position); }
  }

  function showETA(distance, eta) {
    etaAt = eta;
    $("eta").hidden = false;
    $("eta-clock").textContent = fmtClock(eta);
    $("distance").textContent = fmtDistance(distance);
    showMinutes();
  }

  // showMinutes counts the minutes to the ETA again: between estimates
  // (none come while the phone is silent) they would otherwise stand still.
  function showMinutes() {
    if (!etaAt) { return; }
    var min = Math.max(1, Math.round((etaAt - Date.now()) / 60000));
    $("eta-min").textContent = " in about " + min + " min";
  }

  function showMap() {
    var el = $("map");
    el.hidden = false;
    if (map || !window.L) { return; }
    var d = [state.destination.lat, state.destination.lng];
    map = L.map(el, { zoomControl: true, attributionControl: true }).setView(d, 14);
    L.tileLayer(state.map.tile_url, { maxZoom: 19, attribution: state.map.attribution }).addTo(map);
    L.marker(d, { title: "Your address", alt: "Your address" }).addTo(map);
  }

  function moveTo(p) {
    lastFixAt = new Date(p.ts);
    updateStale();
    if (!map || !window.L) { return; }
    var ll = [p.lat, p.lng];
    if (!techMarker) {
      techMarker = L.marker(ll, { title: state.technician.first_name, alt: state.technician.first_name,
        icon: L.divIcon({ className: "", html: '<div class="tech-marker"></div>', iconSize: [24, 24] }) }).addTo(map);
      map.fitBounds(L.latLngBounds([ll, [state.destination.lat, state.destination.lng]]).pad(0.3), { maxZoom: 16 });
    } else {
      techMarker.setLatLng(ll);
    }
    $("map").dataset.lat = p.lat; $("map").dataset.lng = p.lng; // for tests and assistive tools
  }

  function updateStale() {
    if (!lastFixAt || !enRoute()) { $("stale").hidden = true; return; }
    var min = Math.floor((Date.now() - lastFixAt) / 60000);
    $("stale").hidden = min < 2;
    $("stale").textContent = "Last updated " + min + " min ago";
  }

  function connect() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(proto + "//" + location.host + base + "/live");
    ws.onopen = function () { retry = 0; };
    ws.onmessage = function (ev) { handle(JSON.parse(ev.data)); };
    ws.onclose = function (ev) {
      if (ev.code === 1008) { inactive(); return; } // the link expired
      if (state.status === "done" || state.status === "cancelled") { return; }
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
      state.status = m.status;
      state.arrived_at = m.arrived_at || state.arrived_at;
      if (m.position) { state.position = m.position; }
      renderStatus();
    } else if (m.type === "position" && enRoute()) {
      moveTo(m);
    } else if (m.type === "progress" && enRoute()) {
      showETA(m.distance_m, new Date(m.eta));
    } else if (m.type === "status") {
      var same = m.status === state.status;
      state.status = m.status;
      state.arrived_at = m.arrived_at || state.arrived_at;
      renderStatus();
      if (same) { refresh(); } // the same status again: the address was verified, or its pin moved
    }
  }

  // refresh reads the state again after the job site changed. Whether the
  // address is verified decides what the live stream carries, so a change
  // of it (or of the pin) takes a new stream.
  function refresh() {
    fetch(base + "/state", { cache: "no-store" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (s) {
      if (!s) { return; }
      var a = state.destination, b = s.destination;
      if (a.verified === b.verified && a.lat === b.lat && a.lng === b.lng) { return; }
      state = s;
      if (map) { map.remove(); map = null; techMarker = null; }
      render();
      if (ws) { retry = 0; ws.close(); } // onclose connects again
    }).catch(function () {});
  }

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
      connect();
      setInterval(function () { updateStale(); showMinutes(); }, 5000);
    }).catch(function () { // offline or a server error: try again
      $("status").textContent = "Connecting…";
      setTimeout(load, 5000);
    });
  }
  load();
})();
