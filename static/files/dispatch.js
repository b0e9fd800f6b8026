// The dispatcher board: every technician live on one map, coloured by
// status, with a list of last updates and the ETA of those en route; the
// jobs waiting to be dispatched, and each assignment's next step
// (Dispatch, Arrived, Done), saying whether the customer was told and,
// from the carrier's receipt, whether the text reached them.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var techs = {};        // id -> {name, pos, marker, status, assignment, eta}
  var map = null, ws = null, retry = 0, userMoved = false;
  var timeZone; // the company's: ETAs read as its customers are told them
  var track = null; // the technician whose last hour is drawn: {id, line}

  function fmtClock(d) {
    var opts = { hour: "numeric", minute: "2-digit" };
    try { return d.toLocaleTimeString([], Object.assign({ timeZone: timeZone }, opts)); }
    catch (e) { return d.toLocaleTimeString([], opts); } // a zone this browser does not know
  }

  function api(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "X-Enroute-CSRF": "1" } };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (t) {
        var d = t ? JSON.parse(t) : null;
        if (!r.ok) { var e = new Error(d && d.error ? d.error.message : r.statusText); e.status = r.status; throw e; }
        return d;
      });
    });
  }
  function tech(id) { return techs[id] || (techs[id] = { name: "Technician " + id, status: "idle" }); }
  // Leaflet reads a string as HTML: user text goes in as an element's text.
  function tip(text) { return el("span", text || ""); }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text) { e.textContent = text; } if (cls) { e.className = cls; } return e; }

  function loadPeople() {
    return Promise.all([
      api("GET", "/api/v1/technicians?active=true&limit=1000"),
      api("GET", "/api/v1/assignments?status=dispatched,working&limit=1000")
    ]).then(function (r) {
      r[0].items.forEach(function (t) {
        var mine = tech(t.id);
        if (mine.marker && mine.name !== t.name) { mine.marker.setTooltipContent(tip(t.name)); }
        mine.name = t.name;
      });
      Object.keys(techs).forEach(function (id) { techs[id].status = "idle"; techs[id].assignment = null; });
      r[1].items.forEach(function (a) { var t = tech(a.technician_id); t.status = a.status; t.assignment = a.id; });
      redraw();
    });
  }

  // Where a technician's assignment takes them: its job's number and site,
  // shown under their name, and the site on the map while they are on the
  // way (when the address is verified). Read when the assignment changes.
  function destination(t) {
    var id = t.assignment || null;
    if (t.destFor === id) { return; }
    t.destFor = id; t.dest = null;
    if (!id) { return; }
    api("GET", "/api/v1/assignments/" + id).then(function (a) {
      return cached("jobs", a.job_id).then(function (j) {
        return cached("locations", j.location_id).then(function (l) {
          if (t.destFor !== id) { return; }
          t.dest = { number: j.number, address: l.address, lat: l.lat, lng: l.lng, verified: l.verified };
          redraw();
        });
      });
    }).catch(function () { if (t.destFor === id) { t.destFor = undefined; } }); // asked again at the next redraw
  }
  function showDestination(t) {
    var want = map && window.L && t.dest && t.dest.verified && t.status === "dispatched" ? t.dest : null;
    if (t.destMarker && (!want || t.destMarker.dest !== want)) { map.removeLayer(t.destMarker); t.destMarker = null; }
    if (want && !t.destMarker) {
      t.destMarker = L.circleMarker([want.lat, want.lng], { radius: 6, weight: 3, color: colour("dispatched"), fillColor: "#fff", fillOpacity: 1, className: "dest" })
        .addTo(map).bindTooltip(tip(t.name + " → " + want.number + ": " + want.address));
      t.destMarker.dest = want;
    }
  }

  function colour(s) { return s === "dispatched" ? "#0b6bcb" : s === "working" ? "#1e8449" : "#95a5a6"; }

  function place(p) {
    var t = tech(p.technician_id);
    t.pos = p;
    if (!map || !window.L) { return; }
    var ll = [p.lat, p.lng];
    if (!t.marker) {
      t.marker = L.circleMarker(ll, { radius: 8, weight: 2, color: "#fff", fillOpacity: 1, fillColor: colour(t.status) }).addTo(map).bindTooltip(tip(t.name));
      t.marker.on("click", function () { toggleTrack(String(p.technician_id)); });
      fit();
    } else {
      t.marker.setLatLng(ll);
    }
    if (track && track.id === String(p.technician_id) && track.line) { // the drawn track grows live
      track.line.addLatLng(ll);
      showTrackSize();
    }
  }

  // toggleTrack draws a technician's last hour from the history (pages of
  // 1,000 fixes, at most 4,000: an hour at 1 Hz), or takes it away when it
  // is theirs that is drawn. One technician's track at a time.
  function toggleTrack(id) {
    var same = track && track.id === id;
    hideTrack();
    if (same || !map) { return; }
    var mine = track = { id: id, line: null };
    var since = new Date(Date.now() - 3600 * 1000).toISOString(), pts = [];
    var page = function (offset) {
      return api("GET", "/api/v1/technicians/" + id + "/positions?since=" + encodeURIComponent(since) + "&limit=1000&offset=" + offset).then(function (r) {
        r.items.forEach(function (p) { pts.push([p.lat, p.lng]); });
        if (r.items.length === 1000 && offset < 3000) { return page(offset + 1000); }
      });
    };
    page(0).then(function () {
      if (track !== mine) { return; } // another was asked for meanwhile
      mine.line = L.polyline(pts, { color: colour(tech(id).status), weight: 3, opacity: 0.75, className: "track" }).addTo(map);
      if (pts.length > 1) { userMoved = true; map.fitBounds(mine.line.getBounds().pad(0.2), { maxZoom: 16, animate: false }); }
      showTrackSize();
      redraw();
    }).catch(function (e) { $("conn").textContent = e.message; });
    redraw();
  }

  function hideTrack() {
    if (track && track.line) { track.line.remove(); }
    track = null;
    delete $("map").dataset.track;
    redraw();
  }

  // showTrackSize notes the drawn track's technician and points on the map
  // element, for tests and assistive tools.
  function showTrackSize() { $("map").dataset.track = track.id + ":" + track.line.getLatLngs().length; }

  // fit shows every technician, until the dispatcher moves the map.
  function fit() {
    if (userMoved) { return; }
    var pts = Object.keys(techs).filter(function (id) { return techs[id].pos; }).map(function (id) { return [techs[id].pos.lat, techs[id].pos.lng]; });
    if (pts.length) { map.fitBounds(L.latLngBounds(pts).pad(0.2), { maxZoom: 15, animate: false }); }
  }

  function ago(ts) {
    var s = Math.max(0, Math.round((Date.now() - new Date(ts)) / 1000));
    return s < 60 ? s + " s ago" : Math.round(s / 60) + " min ago";
  }

  function redraw() {
    var body = document.querySelector("#techs tbody");
    // The rows are made anew: the one with the keyboard's focus gets it back.
    var focused = body.contains(document.activeElement) ? document.activeElement.dataset.tech : null;
    body.textContent = "";
    Object.keys(techs).sort(function (a, b) { return techs[a].name.localeCompare(techs[b].name); }).forEach(function (id) {
      var t = techs[id], tr = document.createElement("tr");
      tr.dataset.tech = id;
      tr.tabIndex = 0;
      tr.setAttribute("aria-selected", String(!!track && track.id === id));
      tr.addEventListener("click", function () { toggleTrack(id); });
      tr.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); toggleTrack(id); } });
      if (t.pos && Date.now() - new Date(t.pos.ts) > 120000) { tr.className = "stale"; }
      destination(t);
      var who = el("td", t.name);
      if (t.dest) { who.appendChild(el("div", t.dest.number + " · " + t.dest.address, "muted where")); }
      tr.appendChild(who);
      [{ dispatched: "On the way", working: "Working", idle: "Not assigned" }[t.status] || t.status,
       t.pos ? ago(t.pos.ts) : "no position",
       t.status === "dispatched" && t.eta ? fmtClock(new Date(t.eta)) : ""
      ].forEach(function (v) { var td = document.createElement("td"); td.textContent = v; tr.appendChild(td); });
      var step = { dispatched: ["start", "Arrived"], working: ["complete", "Done"] }[t.status], act = el("td");
      if (step && t.assignment) {
        var b = el("button", step[1]);
        b.type = "button";
        b.setAttribute("aria-label", step[1] + ": " + t.name);
        b.addEventListener("click", function (ev) { ev.stopPropagation(); b.disabled = true; move(t.assignment, step[0], t.name); });
        b.addEventListener("keydown", function (ev) { ev.stopPropagation(); }); // Enter here is the button's, not the row's
        act.appendChild(b);
      }
      tr.appendChild(act);
      body.appendChild(tr);
      if (id === focused) { tr.focus(); }
      if (t.marker) { t.marker.setStyle({ fillColor: colour(t.status) }); }
      showDestination(t);
    });
  }

  // The jobs to dispatch: scheduled assignments, soonest window first, each
  // with its job, customer and site (read once, then kept five minutes, so
  // an edited job shows within that).
  var known, knownAt = 0;
  function cached(kind, id) {
    if (!known || Date.now() - knownAt > 300000) { known = { jobs: {}, customers: {}, locations: {} }; knownAt = Date.now(); }
    var c = known[kind];
    if (!c[id]) { c[id] = api("GET", "/api/v1/" + kind + "/" + id).catch(function (e) { delete c[id]; throw e; }); }
    return c[id];
  }
  function loadJobs() {
    return api("GET", "/api/v1/assignments?status=scheduled&limit=1000").then(function (r) {
      return Promise.all(r.items.map(function (a) {
        return cached("jobs", a.job_id).then(function (j) {
          return Promise.all([cached("customers", j.customer_id), cached("locations", j.location_id)]).then(function (cl) {
            return { a: a, job: j, customer: cl[0], location: cl[1] };
          });
        });
      }));
    }).then(renderJobs);
  }
  function fmtWindow(j) {
    var s = new Date(j.window_start), e = new Date(j.window_end), opts = { weekday: "short", month: "short", day: "numeric" }, day;
    try { day = s.toLocaleDateString([], Object.assign({ timeZone: timeZone }, opts)); }
    catch (x) { day = s.toLocaleDateString([], opts); } // a zone this browser does not know, as in fmtClock
    return day + ", " + fmtClock(s) + "–" + fmtClock(e);
  }
  // unverifiedText says why a site is not verified, and what that means
  // for the customer (plain text: el() never renders it as HTML).
  function unverifiedText(l) {
    var v = l.verification || {};
    var why = v.status === "pending" ? "checking the address" + (v.reason ? ": " + v.reason : "")
      : "address not verified" + (v.reason ? ": " + v.reason : "");
    return why + "; no map or ETA for the customer";
  }
  function renderJobs(rows) {
    rows.sort(function (x, y) { return new Date(x.job.window_start) - new Date(y.job.window_start); });
    var ul = $("jobs");
    ul.textContent = "";
    $("jobs-none").hidden = rows.length > 0;
    rows.forEach(function (r) {
      var who = tech(r.a.technician_id).name, li = el("li");
      li.dataset.assignment = r.a.id;
      var head = el("div");
      head.appendChild(el("strong", r.job.number));
      head.appendChild(document.createTextNode(" · " + r.customer.name));
      li.appendChild(head);
      li.appendChild(el("div", r.location.address + (r.location.verified ? "" : " (" + unverifiedText(r.location) + ")"), "muted"));
      li.appendChild(el("div", fmtWindow(r.job) + " · " + who, "muted"));
      var b = el("button", "Dispatch");
      b.type = "button";
      b.setAttribute("aria-label", "Dispatch " + who + " to " + r.job.number);
      b.addEventListener("click", function () { b.disabled = true; move(r.a.id, "dispatch", who, r.job); });
      li.appendChild(b);
      ul.appendChild(li);
    });
  }

  // move takes an assignment to its next status and says what came of it:
  // for a dispatch, whether the customer was told and how, and then, as
  // the carrier reports it, whether the text reached their phone.
  var moves = 0; // which action the notice speaks of: a later one replaces it
  function move(id, verb, who, job) {
    var said = $("jobs-result"), mine = ++moves, alarm = false;
    return api("POST", "/api/v1/assignments/" + id + "/" + verb).then(function (a) {
      var t = tech(a.technician_id);
      if (a.status === "dispatched" || a.status === "working") { t.status = a.status; t.assignment = a.id; }
      else if (t.assignment === a.id) { t.status = "idle"; t.assignment = null; t.eta = null; }
      redraw();
      if (verb !== "dispatch") { return who + ": " + { working: "working at the site.", done: "job done." }[a.status]; }
      var head = who + " is on the way to " + job.number + ". ";
      return dispatchMessages(job.id, a.id).then(function (ms) {
        if (awaiting(ms)) { follow(mine, job.id, a.id, head, 0); }
        alarm = undelivered(ms);
        return head + notice(ms);
      });
    }).then(function (text) { if (mine === moves) { said.className = alarm ? "error" : ""; said.textContent = text; } })
      .catch(function (e) { if (mine === moves) { said.className = "error"; said.textContent = e.message; } redraw(); })
      .then(function () { return loadJobs(); }).catch(function () {});
  }
  function dispatchMessages(jobID, assignmentID) {
    return api("GET", "/api/v1/jobs/" + jobID + "/messages?limit=100").then(function (m) {
      return m.items.filter(function (x) { return x.assignment_id === assignmentID && x.kind === "dispatch"; });
    });
  }
  // awaiting: a text is still on its way, or sent with no final receipt.
  function awaiting(ms) {
    return ms.some(function (m) {
      var final = m.delivery && ["delivered", "undelivered", "failed"].indexOf(m.delivery.status) >= 0;
      return m.channel === "sms" && (m.status === "queued" || (m.status === "sent" && !final));
    });
  }
  // undelivered: the carrier says a text did not reach the customer, who
  // then needs a call.
  function undelivered(ms) {
    return ms.some(function (m) { return m.delivery && (m.delivery.status === "undelivered" || m.delivery.status === "failed"); });
  }
  // follow asks again every 2 s, for up to two minutes, while the notice
  // is still this dispatch's, and says what became of the text.
  function follow(mine, jobID, assignmentID, head, n) {
    setTimeout(function () {
      if (mine !== moves) { return; }
      dispatchMessages(jobID, assignmentID).then(function (ms) {
        if (mine !== moves) { return; }
        $("jobs-result").textContent = head + notice(ms);
        $("jobs-result").className = undelivered(ms) ? "error" : "";
        if (awaiting(ms) && n < 60) { follow(mine, jobID, assignmentID, head, n + 1); }
      }).catch(function () { if (n < 60) { follow(mine, jobID, assignmentID, head, n + 1); } });
    }, 2000);
  }
  function notice(ms) {
    if (!ms.length) { return "The customer was not notified: dispatch notifications are off."; }
    return ms.map(function (m) {
      var ch = m.channel === "sms" ? "Text" : "E-mail", d = m.delivery;
      if (d && d.status === "delivered") { return ch + " to the customer delivered."; }
      if (d && (d.status === "undelivered" || d.status === "failed")) { return ch + " to the customer not delivered: " + (d.error || "the carrier gave no reason") + "."; }
      if (m.status === "suppressed" || m.status === "skipped" || m.status === "failed") { return ch + " to the customer not sent: " + m.reason; }
      if (m.status === "logged") { return ch + " to the customer only logged, not sent: " + m.reason + "."; }
      return ch + " to the customer " + (m.status === "queued" ? "on its way." : m.status + ".");
    }).join(" ");
  }

  // handle applies one message of the live stream; a "batch" holds several.
  function handle(m) {
    if (m.type === "batch") { m.messages.forEach(handle); return; }
    if (m.type === "snapshot" || m.type === "positions") { m.positions.forEach(place); }
    if (m.type === "snapshot") { (m.progress || []).forEach(function (p) { tech(p.technician_id).eta = p.eta; }); }
    else if (m.type === "position") { place(m); }
    else if (m.type === "progress") { tech(m.technician_id).eta = m.eta; }
    else if (m.type === "status") { // live, not at the next reload of the list
      var t = tech(m.technician_id);
      // The same status again (or "scheduled", which no move leads to):
      // the assignment was published again because its site's address
      // was verified or its pin moved. Read the site again.
      if (m.status === "scheduled" || (t.assignment === m.assignment_id && t.status === m.status)) {
        if (known) { known.locations = {}; }
        t.destFor = undefined;
        if (m.status === "scheduled") { loadJobs().catch(function () {}); }
      }
      if (m.status === "dispatched" || m.status === "working") { t.status = m.status; t.assignment = m.assignment_id; }
      else if (t.assignment === m.assignment_id) { t.status = "idle"; t.assignment = null; t.eta = null; }
    }
  }

  function connect() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(proto + "//" + location.host + "/api/v1/live");
    ws.onopen = function () { retry = 0; $("conn").textContent = "live"; ws.send(JSON.stringify({ type: "subscribe" })); };
    ws.onmessage = function (ev) { handle(JSON.parse(ev.data)); redraw(); };
    ws.onclose = function () {
      $("conn").textContent = "reconnecting…";
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * Math.pow(2, retry));
    };
  }

  function start() {
    return Promise.all([loadPeople(), api("GET", "/api/v1/map"), api("GET", "/api/v1/company")]).then(function (r) {
      timeZone = r[2].time_zone || undefined;
      loadJobs().catch(function (e) { $("jobs-result").textContent = e.message; });
      $("login").hidden = true; $("app").hidden = false;
      if (window.L && !map) {
        map = L.map($("map")).setView([20, 0], 2);
        L.tileLayer(r[1].tile_url, { maxZoom: 19, attribution: r[1].attribution }).addTo(map);
        map.on("dragstart", function () { userMoved = true; });
        $("map").addEventListener("wheel", function () { userMoved = true; }, { passive: true });
      }
      connect();
      setInterval(function () { loadPeople().catch(function () {}); loadJobs().catch(function () {}); }, 15000);
      setInterval(redraw, 5000);
    }).catch(function (e) {
      if (e.status === 401 || e.status === 403) { $("app").hidden = true; $("login").hidden = false; return; }
      $("conn").textContent = e.message;
    });
  }
  // Sign out ends the browser session (on the server too), back to the
  // log-in form.
  $("logout").addEventListener("click", function () {
    api("DELETE", "/api/v1/session").then(function () { window.location.reload(); }).catch(function (e) { window.alert(e.message); });
  });
  $("login").addEventListener("submit", function (ev) {
    ev.preventDefault();
    api("POST", "/api/v1/session", { key: $("key").value }).then(start).catch(function (e) {
      $("login-error").textContent = e.message; $("login-error").hidden = false;
    });
  });
  start();
})();
