// The dispatcher board: every technician live on one map, coloured by
// status and labelled with their name, with a list of last updates and
// the ETA of those en route; the jobs waiting to be dispatched, and each
// assignment's next step (Dispatch, Arrived, Done), saying whether the
// customer was told and, from the carrier's receipt, whether the text
// reached them, and whether they opened their tracking link. Selecting a
// technician draws their last hour and follows them; Fit all shows
// everyone. The "New job" panel is board-new.js's (EnrouteNewJob).
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var techs = {};        // id -> {name, pos, marker, status, assignment, eta, opened}
  var active = [];       // the active technicians' ids, as last listed
  var map = null, ws = null, retry = 0, userMoved = false;
  var timeZone; // the company's: ETAs read as its customers are told them
  var track = null; // the selected technician, whose last hour is drawn: {id, line}
  var following = false; // the map keeps the selected technician in its centre

  function fmtClock(d) {
    var opts = { hour: "numeric", minute: "2-digit" };
    try { return d.toLocaleTimeString([], Object.assign({ timeZone: timeZone }, opts)); }
    catch (e) { return d.toLocaleTimeString([], opts); } // a zone this browser does not know
  }

  // api calls the API; idem, when given, is the request's Idempotency-Key
  // (what texts a customer: a retried request must not text twice).
  function api(method, path, body, idem) {
    var opts = { method: method, credentials: "same-origin", headers: { "X-Enroute-CSRF": "1" } };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    if (idem) { opts.headers["Idempotency-Key"] = idem; }
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (t) {
        var d = t ? JSON.parse(t) : null;
        if (!r.ok) {
          var e = new Error(d && d.error ? d.error.message : r.statusText);
          e.status = r.status; e.fields = (d && d.error && d.error.fields) || {};
          throw e;
        }
        return d;
      });
    });
  }
  function tech(id) { return techs[id] || (techs[id] = { name: "Technician " + id, status: "idle" }); }
  // Leaflet reads a string as HTML: user text goes in as an element's text.
  function tip(text) { return el("span", text || ""); }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text) { e.textContent = text; } if (cls) { e.className = cls; } return e; }

  // Reads of the list overlap, and their answers can come back out of
  // order; a technician's live status, or a move made here, is newer than
  // a read begun before it. So each read and each such change takes the
  // next number (seq; a technician keeps its change's as liveAt): a read's
  // answer is shown only if no later read's answer has been, and it
  // leaves alone the technicians changed since it began. Otherwise an
  // older answer would take a row back ("Working" again after "Done").
  var seq = 0, shownSeq = 0;
  function loadPeople() {
    var n = ++seq;
    return Promise.all([
      api("GET", "/api/v1/technicians?active=true&limit=1000"),
      api("GET", "/api/v1/assignments?status=dispatched,working&limit=1000")
    ]).then(function (r) {
      if (n < shownSeq) { return; }
      shownSeq = n;
      active = r[0].items.map(function (t) {
        var mine = tech(t.id);
        if (mine.marker && mine.name !== t.name) { mine.marker.setTooltipContent(tip(t.name)); declutter(); }
        mine.name = t.name;
        return String(t.id);
      });
      var newer = function (t) { return t.liveAt > n; }; // changed since this read began
      Object.keys(techs).forEach(function (id) { var t = techs[id]; if (!newer(t)) { t.status = "idle"; t.assignment = null; t.opened = null; } });
      r[1].items.forEach(function (a) { if (!newer(tech(a.technician_id))) { assigned(a); } });
      redraw();
    });
  }
  // assigned notes an assignment that is dispatched or working: its
  // technician's status, and the customer's tracking receipt.
  function assigned(a) {
    var t = tech(a.technician_id);
    t.status = a.status; t.assignment = a.id;
    t.opened = { at: a.tracking_opened_at, n: a.tracking_opens || 0 };
  }
  // reloadPeople reads the list again soon, once for several calls: after
  // a status message, so the receipt and the statuses are the server's.
  var reloadTimer = null;
  function reloadPeople() {
    if (reloadTimer) { return; }
    reloadTimer = setTimeout(function () { reloadTimer = null; loadPeople().catch(function () {}); }, 300);
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
          t.dest = { job: j.id, number: j.number, address: l.address, lat: l.lat, lng: l.lng, verified: l.verified };
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
    var ll = [p.lat, p.lng], id = String(p.technician_id);
    if (!t.marker) {
      // The name is a permanent label beside the marker, on the side
      // towards the map's middle (so it stays on the map); declutter keeps
      // labels from covering each other.
      t.marker = L.circleMarker(ll, { radius: 8, weight: 2, color: "#fff", fillOpacity: 1, fillColor: colour(t.status), className: "tech tech-" + id }).addTo(map)
        .bindTooltip(tip(t.name), { permanent: true, direction: "auto", offset: [8, 0], className: "tech-label" });
      t.marker.on("click", function () { toggleTrack(id); });
      t.marker.on("mouseover", function () { var e = label(t); if (e) { e.classList.remove("tucked"); } });
      fit();
    } else {
      t.marker.setLatLng(ll);
    }
    if (track && track.id === id) {
      if (track.line) { track.line.addLatLng(ll); showTrackSize(); } // the drawn track grows live
      if (following) { map.panTo(ll); }
    }
    declutter();
  }

  // label returns the element of a technician's name on the map, if shown.
  function label(t) {
    var tt = t.marker && t.marker.getTooltip();
    return tt ? tt.getElement() : null;
  }

  // declutter moves each name label that would cover another down below
  // it (up to three labels' height), or hides it until its marker is
  // hovered: a crowd of technicians reads as a list beside them, not a
  // smudge. The selected technician's label is placed first. Once a frame
  // at most; more than 300 labels are left as they are (measuring each
  // costs a layout, and such a map is read by zooming in).
  var cluttered = false;
  function declutter() {
    if (cluttered || !map) { return; }
    cluttered = true;
    requestAnimationFrame(function () { cluttered = false; spread(); });
  }
  function spread() {
    var labels = [];
    Object.keys(techs).forEach(function (id) {
      var e = label(techs[id]);
      if (!e) { return; }
      e.style.marginTop = "";
      e.classList.remove("tucked", "shifted");
      e.classList.toggle("selected", !!track && track.id === id);
      labels.push({ e: e, first: !!track && track.id === id });
    });
    if (labels.length > 300) { return; }
    labels.forEach(function (l) { l.r = l.e.getBoundingClientRect(); });
    labels.sort(function (a, b) { return (b.first - a.first) || (a.r.top - b.r.top) || (a.r.left - b.r.left); });
    var placed = [];
    labels.forEach(function (l) {
      var top = l.r.top, h = l.r.height, limit = l.r.top + 3 * h + 6;
      var hit = function () {
        return placed.filter(function (q) { return l.r.left < q.right && q.left < l.r.right && top < q.bottom && q.top < top + h; })[0];
      };
      for (var q = hit(); q && top <= limit; q = hit()) { top = q.bottom + 2; }
      if (top > limit) { l.e.classList.add("tucked"); return; }
      if (top !== l.r.top) { l.e.style.marginTop = (top - l.r.top) + "px"; l.e.classList.add("shifted"); }
      placed.push({ left: l.r.left, right: l.r.right, top: top, bottom: top + h });
    });
  }

  // toggleTrack selects a technician: it draws their last hour from the
  // history (pages of 1,000 fixes, at most 4,000: an hour at 1 Hz) and
  // follows them, keeping them in the map's centre as their positions
  // arrive until the dispatcher pans the map or picks Fit all. Selecting
  // the selected one again takes the track away and stops following. One
  // technician at a time.
  function toggleTrack(id) {
    var same = track && track.id === id;
    hideTrack();
    if (same || !map) { return; }
    var mine = track = { id: id, line: null };
    followSelected(true);
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
      // Without a live position (none since the server started), the
      // last hour shows where they were.
      if (pts.length > 1 && !tech(id).pos) { userMoved = true; following = false; map.fitBounds(mine.line.getBounds().pad(0.2), { maxZoom: 16, animate: false }); showFollow(); }
      showTrackSize();
      redraw();
    }).catch(function (e) { $("conn").textContent = e.message; });
    redraw();
  }

  function hideTrack() {
    if (track && track.line) { track.line.remove(); }
    track = null;
    following = false;
    delete $("map").dataset.track;
    redraw();
    declutter();
  }

  // followSelected starts (or, with false, stops) following the selected
  // technician; it centres the map on them at once.
  function followSelected(on) {
    following = on && !!track;
    var t = track && tech(track.id);
    if (following && t.pos) {
      userMoved = true; // a technician new on the map no longer refits it
      map.setView([t.pos.lat, t.pos.lng], Math.max(map.getZoom(), 14), { animate: false });
    }
    showFollow();
    declutter();
  }
  // showFollow says on the map whom it follows, or offers to follow the
  // selected technician again; the map element carries it for tests and
  // assistive tools (data-follow).
  function showFollow() {
    var note = $("follow-state"), again = $("follow-again");
    if (!note) { return; }
    var t = track && tech(track.id);
    note.textContent = !t ? "" : following ? "Following " + t.name : "";
    again.hidden = !t || following;
    if (t) { again.textContent = "Follow " + t.name; }
    if (following) { $("map").dataset.follow = track.id; } else { delete $("map").dataset.follow; }
  }
  // fitAll shows every technician, stops following, and refits the map
  // as technicians appear, until the dispatcher moves it again.
  function fitAll() {
    following = false;
    userMoved = false;
    showFollow();
    fit();
  }

  // showTrackSize notes the drawn track's technician and points on the map
  // element, for tests and assistive tools.
  function showTrackSize() { $("map").dataset.track = track.id + ":" + track.line.getLatLngs().length; }

  // fit shows every technician, until the dispatcher moves the map or
  // follows one.
  function fit() {
    if (userMoved || following) { return; }
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
      if (t.assignment && t.opened) { who.appendChild(receipt(t.opened)); }
      tr.appendChild(who);
      [{ dispatched: "On the way", working: "Working", idle: "Not assigned" }[t.status] || t.status,
       t.pos ? ago(t.pos.ts) : "no position",
       t.status === "dispatched" && t.eta ? fmtClock(new Date(t.eta)) : ""
      ].forEach(function (v) { var td = document.createElement("td"); td.textContent = v; tr.appendChild(td); });
      var step = { dispatched: ["start", "Arrived"], working: ["complete", "Done"] }[t.status], act = el("td");
      if (t.dest) { // the job's conversation with its customer (board-job.js)
        var jb = el("button", "Messages", "link");
        jb.type = "button";
        jb.setAttribute("aria-label", "Messages of job " + t.dest.number);
        jb.addEventListener("click", function (ev) { ev.stopPropagation(); if (jobPanel) { jobPanel.open(t.dest.job); } });
        jb.addEventListener("keydown", function (ev) { ev.stopPropagation(); });
        act.appendChild(jb);
      }
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
    showFollow();
  }

  // receipt says whether the customer opened their tracking link: first
  // when, and how often (POST /t/{token}/opened, counted by the page's
  // script). A tracking page opening publishes nothing live: the list's
  // reload (every 15 s, and after each status message) brings it.
  function receipt(o) {
    if (!o.n) { return el("div", "Link not opened yet", "muted receipt"); }
    var at = fmtClock(new Date(o.at)), d = el("div", "Customer opened the link " + at + " · " + o.n + "×", "receipt opened");
    d.title = "First opened at " + at + "; opened " + o.n + (o.n === 1 ? " time" : " times");
    return d;
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
  // loadJobs reads the jobs to dispatch, one read at a time: one asked
  // for while another is out is made once that is back (several, once).
  // So answers come in order (an older one would list a job just
  // dispatched again) and each is shown, however often a site's
  // verification asks for reads.
  var jobsRead = null, jobsNext = null;
  function loadJobs() {
    if (jobsRead) {
      jobsNext = jobsNext || jobsRead.catch(function () {}).then(function () { jobsNext = null; return loadJobs(); });
      return jobsNext;
    }
    jobsRead = api("GET", "/api/v1/assignments?status=scheduled&limit=1000").then(function (r) {
      return Promise.all(r.items.map(function (a) {
        return cached("jobs", a.job_id).then(function (j) {
          return Promise.all([cached("customers", j.customer_id), cached("locations", j.location_id)]).then(function (cl) {
            return { a: a, job: j, customer: cl[0], location: cl[1] };
          });
        });
      }));
    }).then(renderJobs).then(function () { jobsRead = null; }, function (e) { jobsRead = null; throw e; });
    return jobsRead;
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
  // It resolves, never rejects, to {ok, text}: what the notice first said.
  var moves = 0; // which action the notice speaks of: a later one replaces it
  function move(id, verb, who, job) {
    var said = $("jobs-result"), mine = ++moves, alarm = false, outcome = { ok: false, text: "" };
    return api("POST", "/api/v1/assignments/" + id + "/" + verb).then(function (a) {
      var t = tech(a.technician_id);
      t.liveAt = ++seq;
      if (a.status === "dispatched" || a.status === "working") { assigned(a); }
      else if (t.assignment === a.id) { t.status = "idle"; t.assignment = null; t.eta = null; t.opened = null; }
      redraw();
      if (verb !== "dispatch") { return who + ": " + { working: "working at the site.", done: "job done." }[a.status]; }
      var head = who + " is on the way to " + job.number + ". ";
      return dispatchMessages(job.id, a.id).then(function (ms) {
        if (awaiting(ms)) { follow(mine, job.id, a.id, head, 0); }
        alarm = undelivered(ms);
        return head + notice(ms);
      });
    }).then(function (text) { outcome = { ok: !alarm, text: text }; if (mine === moves) { said.className = alarm ? "error" : ""; said.textContent = text; } })
      .catch(function (e) { outcome = { ok: false, text: e.message }; if (mine === moves) { said.className = "error"; said.textContent = e.message; } redraw(); })
      .then(function () { return loadJobs(); }).catch(function () {})
      .then(function () { return outcome; });
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
    else if (m.type === "activity") { if (jobPanel) { jobPanel.activity(m); } }
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
      t.liveAt = ++seq;
      if (m.status === "dispatched" || m.status === "working") { t.status = m.status; t.assignment = m.assignment_id; }
      else if (t.assignment === m.assignment_id) { t.status = "idle"; t.assignment = null; t.eta = null; t.opened = null; }
      reloadPeople();
    }
  }

  function connect() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(proto + "//" + location.host + "/api/v1/live");
    ws.onopen = function () { retry = 0; showConn("live", "live"); ws.send(JSON.stringify({ type: "subscribe" })); };
    ws.onmessage = function (ev) { handle(JSON.parse(ev.data)); redraw(); };
    ws.onclose = function () {
      showConn("reconnecting…", "down");
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
        // Panning (a drag, the arrow keys) ends following; zooming does not.
        map.on("dragstart", function () { userMoved = true; if (following) { followSelected(false); } });
        $("map").addEventListener("keydown", function (ev) { if (/^Arrow/.test(ev.key) && following) { followSelected(false); } });
        $("map").addEventListener("wheel", function () { userMoved = true; }, { passive: true });
        map.on("moveend", function () {
          var c = map.getCenter();
          $("map").dataset.center = c.lat.toFixed(6) + "," + c.lng.toFixed(6); // for tests and assistive tools
          declutter();
        });
        map.on("zoomend", declutter);
        controls().addTo(map);
      }
      if (window.EnrouteNewJob && !newJob) { newJob = window.EnrouteNewJob(board()); }
      if (window.EnrouteJobPanel && !jobPanel) { jobPanel = window.EnrouteJobPanel(board()); }
      connect();
      setInterval(function () { loadPeople().catch(function () {}); loadJobs().catch(function () {}); }, 15000);
      setInterval(redraw, 5000);
    }).catch(function (e) {
      if (e.status === 401 || e.status === 403) { $("app").hidden = true; $("login").hidden = false; return; }
      showConn(e.message, "down");
    });
  }

  // showConn says how the board's live stream stands, beside the title.
  function showConn(text, state) { var c = $("conn"); c.textContent = text; c.dataset.state = state; }

  // controls are the map's own buttons: Fit all, and following the
  // selected technician (who, or Follow them again after a pan).
  function controls() {
    var Box = L.Control.extend({
      options: { position: "topright" },
      onAdd: function () {
        var box = L.DomUtil.create("div", "board-controls");
        var fitB = el("button", "Fit all", "map-button");
        fitB.type = "button"; fitB.id = "fit-all"; fitB.title = "Show every technician";
        fitB.addEventListener("click", fitAll);
        var state = el("span", "", "follow-state"); state.id = "follow-state"; state.setAttribute("role", "status");
        var again = el("button", "", "map-button"); again.type = "button"; again.id = "follow-again"; again.hidden = true;
        again.addEventListener("click", function () { followSelected(true); });
        box.appendChild(fitB); box.appendChild(again); box.appendChild(state);
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        return box;
      }
    });
    return new Box();
  }

  // board is what the New job panel (board-new.js) and the job panel
  // (board-job.js) use of the board.
  var newJob = null, jobPanel = null;
  function board() {
    return {
      api: api, el: el, map: map, move: move,
      timeZone: function () { return timeZone; },
      // The active technicians, by name, with what they are doing now.
      technicians: function () {
        return active.map(function (id) { var t = tech(id); return { id: Number(id), name: t.name, status: t.status }; })
          .sort(function (a, b) { return a.name.localeCompare(b.name); });
      },
      reload: function () { loadJobs().catch(function () {}); reloadPeople(); },
      fmtWindow: fmtWindow, fmtClock: fmtClock
    };
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
