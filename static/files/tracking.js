// The customer's tracking page: renders /t/{token}/state, then follows
// /t/{token}/live; once the visit is done, asks for feedback
// (POST /t/{token}/feedback). No framework; Leaflet draws the map when it
// is there. Everything the server sends is set as text, never as HTML.
(function () {
  "use strict";
  var token = location.pathname.split("/")[2];
  var base = "/t/" + encodeURIComponent(token);
  var $ = function (id) { return document.getElementById(id); };
  var state = null, map = null, techMarker = null, lastFixAt = null, etaAt = null, ws = null, retry = 0, ticking = false;

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

  // initial is the first letter of the technician's name, for the
  // placeholder avatar (a whole character, not half of a surrogate pair).
  function initial() { return (Array.from(state.technician.first_name || "")[0] || "?").toUpperCase(); }

  // The photo, or the placeholder when there is none or it fails to load.
  function renderPortrait() {
    var img = $("photo"), url = state.technician.photo_url;
    var placeholder = function () { img.hidden = true; $("avatar").textContent = initial(); $("avatar").hidden = false; };
    if (!url) { placeholder(); return; }
    img.onerror = placeholder;
    img.alt = "Photo of " + state.technician.first_name;
    if (img.getAttribute("src") !== url) { img.src = url; }
    img.hidden = false; $("avatar").hidden = true;
  }

  function render() {
    var s = state;
    document.title = s.technician.first_name + " · " + s.company.name;
    applyBrand(s.company.brand_color);
    $("company-name").textContent = s.company.name;
    if (s.company.logo_url) { $("logo").src = s.company.logo_url; $("logo").alt = s.company.name; $("logo").hidden = false; }
    $("tech-name").textContent = s.technician.first_name;
    renderPortrait();
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

  function finished() { return state.status === "done" || state.status === "cancelled"; }

  function renderStatus() {
    var st = $("status");
    st.textContent = statusText[state.status] || state.status;
    if (state.status === "working" && state.arrived_at) { st.textContent += " at " + fmtClock(new Date(state.arrived_at)); }
    if (state.status === "done" && state.completed_at) { st.textContent += " at " + fmtClock(new Date(state.completed_at)); }
    st.className = "status " + (statusClass[state.status] || "");
    // The code to ask for at the door, while someone may still come.
    var code = state.technician.verification_code;
    $("code").hidden = !code || finished();
    $("code-digits").textContent = code || "";
    renderFeedback();
    if (!enRoute()) { // arrived, completed, cancelled, or an unverified address: no position
      $("eta").hidden = true; $("map").hidden = true; $("legend").hidden = true; $("stale").hidden = true; $("waiting").hidden = true;
      if (map) { map.remove(); map = null; techMarker = null; }
      return;
    }
    if (state.eta) { showETA(state.distance_m, new Date(state.eta)); }
    showMap();
    if (state.position) { moveTo(state.position); }
    updateWaiting();
  }

  // updateWaiting says so while no position has come: on the way, but the
  // technician's phone has not been heard from yet.
  function updateWaiting() {
    var waiting = enRoute() && !lastFixAt;
    $("waiting").hidden = !waiting;
    $("waiting").textContent = waiting ? "Waiting for " + state.technician.first_name + "'s first location…" : "";
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
    $("legend").hidden = false;
    if (map || !window.L) { return; }
    var d = [state.destination.lat, state.destination.lng];
    map = L.map(el, { zoomControl: true, attributionControl: true }).setView(d, 14);
    L.tileLayer(state.map.tile_url, { maxZoom: 19, attribution: state.map.attribution }).addTo(map);
    var home = document.createElement("div");
    home.className = "home-marker";
    // The pin's tip, turned down by the rotation, is 20 px below its centre.
    L.marker(d, { title: "Your address", icon: L.divIcon({ className: "", html: home, iconSize: [28, 28], iconAnchor: [14, 34] }) }).addTo(map);
  }

  // techIcon is the technician's marker: round, with the photo, or the
  // initial when there is none or it fails to load.
  function techIcon() {
    var el = document.createElement("div"), url = state.technician.photo_url;
    el.className = "tech-marker";
    if (url) {
      var img = document.createElement("img");
      img.alt = "";
      img.onerror = function () { el.textContent = initial(); };
      img.src = url;
      el.appendChild(img);
    } else {
      el.textContent = initial();
    }
    return L.divIcon({ className: "", html: el, iconSize: [40, 40], iconAnchor: [20, 20] });
  }

  function moveTo(p) {
    lastFixAt = new Date(p.ts);
    updateStale();
    updateWaiting();
    if (!map || !window.L) { return; }
    var ll = [p.lat, p.lng];
    if (!techMarker) {
      techMarker = L.marker(ll, { title: state.technician.first_name, icon: techIcon(), zIndexOffset: 1000 }).addTo(map);
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
      else if (m.status === "done") { reread(); } // when it was completed, and whether feedback was given
    }
  }

  // reread reads the whole state again and shows it.
  function reread() {
    fetch(base + "/state", { cache: "no-store" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (s) {
      if (s) { state = s; render(); }
    }).catch(function () {});
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

  // Feedback, once the visit is done: 1 to 5 stars (radio buttons,
  // drawn as stars) and a comment, sent once.
  function renderFeedback() {
    var done = state.status === "done";
    $("feedback").hidden = !done;
    if (done && state.feedback) { thank("Thank you for your feedback!"); }
  }
  function thank(text) {
    $("feedback-form").hidden = true;
    $("feedback-title").textContent = "Your feedback";
    $("thanks").textContent = text;
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
    if (!rating) { feedbackError("Choose from 1 to 5 stars."); $("star-1").focus(); return; }
    $("feedback-send").disabled = true;
    feedbackError("");
    fetch(base + "/feedback", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ rating: rating, comment: $("comment").value }) }).then(function (r) {
      if (r.status === 404) { inactive(); return; }
      return r.json().catch(function () { return null; }).then(function (body) {
        if (r.ok || r.status === 409) { // sent now, or before (another tab)
          state.feedback = { rating: rating };
          thank("Thank you for your feedback!");
          $("thanks").focus();
          return;
        }
        feedbackError(body && body.error ? body.error.message : "Your feedback could not be sent. Please try again.");
      });
    }).catch(function () {
      feedbackError("Your feedback could not be sent: check your connection and try again.");
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
      if (!ticking) { ticking = true; setInterval(function () { updateStale(); showMinutes(); }, 5000); }
    }).catch(function () { // offline or a server error: try again
      $("status").textContent = "Connecting…";
      setTimeout(load, 5000);
    });
  }
  load();
})();
