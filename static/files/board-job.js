// board-job.js: a job's own panel on the board, and the customers'
// replies as they come. The panel shows the job's conversation in time
// order: every message Enroute or a dispatcher sent (its kind, channel,
// where it stands: queued, sent, delivered or why not), every reply the
// customer texted and their feedback on the visit, with the code they may
// ask for at the door; each finished message can be sent again (Resend:
// a new link where it had one); "Copy tracking link" makes a new link to
// paste anywhere; and a box texts the customer from the company's number.
// The board's live stream says when a job has news ({"type":"activity"}):
// the panel showing it reads it again, and a reply is announced at the
// top of the board with the job, to open in one click. Everything the
// customer or a dispatcher wrote is shown with textContent, never as HTML.
//
// dispatch.js calls window.EnrouteJobPanel(board) once the board has
// started, and then open(jobID) and activity(message) of what it returns.
window.EnrouteJobPanel = function (board) {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var el = board.el, api = board.api;
  var panel = $("job-detail"), inbox = $("inbox");
  var shown = null, loading = 0;

  // The panel's parts, made once.
  var head = el("div", null, "jd-head"), title = el("h2", "", ""), close = el("button", "Close", "link");
  title.id = "jd-h"; close.type = "button"; close.id = "jd-close";
  head.appendChild(title); head.appendChild(close);
  var meta = el("p", "", "muted"); meta.id = "jd-meta";
  var copy = el("button", "Copy tracking link", "secondary small"); copy.type = "button"; copy.id = "jd-copy";
  var linkOut = el("input"); linkOut.id = "jd-link"; linkOut.readOnly = true; linkOut.hidden = true; linkOut.setAttribute("aria-label", "Tracking link");
  var linkState = el("span", "", "muted"); linkState.id = "jd-link-state"; linkState.setAttribute("role", "status");
  var log = el("ol", null, "conversation"); log.id = "jd-log"; log.setAttribute("aria-label", "Messages and replies");
  var form = el("form"), label = el("label", "Text the customer"), text = el("textarea"), send = el("button", "Send");
  form.id = "jd-form"; label.htmlFor = "jd-text"; text.id = "jd-text"; text.rows = 3; text.maxLength = 1600; send.type = "submit"; send.id = "jd-send";
  var sendNote = el("p", "Sent from the company's number; kept in the job's log with your name.", "muted");
  var error = el("p", "", "error"); error.id = "jd-error"; error.setAttribute("role", "alert"); error.hidden = true;
  form.appendChild(label); form.appendChild(text); form.appendChild(send); form.appendChild(sendNote);
  [head, meta, copy, linkState, linkOut, log, form, error].forEach(function (x) { panel.appendChild(x); });
  panel.setAttribute("aria-labelledby", "jd-h");

  function fail(e) { error.textContent = e.message; error.hidden = false; }
  // idemKey is a new Idempotency-Key: a request that texts a customer,
  // sent again after a lost answer, texts them once.
  function idemKey() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
  }
  function clock(ts) { return board.fmtClock(new Date(ts)); }

  // open shows a job's panel.
  function open(jobID) {
    shown = jobID;
    panel.hidden = false;
    error.hidden = true; linkOut.hidden = true; linkState.textContent = "";
    load().then(function () { panel.scrollIntoView({ block: "nearest" }); });
  }
  close.addEventListener("click", function () { shown = null; panel.hidden = true; });

  // load reads the job, its customer and assignments, its messages and
  // replies, and lays them out; a later load wins over a slower earlier one.
  function load() {
    var id = shown, mine = ++loading;
    if (id === null) { return Promise.resolve(); }
    return Promise.all([
      api("GET", "/api/v1/jobs/" + id),
      api("GET", "/api/v1/jobs/" + id + "/messages?limit=500"),
      api("GET", "/api/v1/jobs/" + id + "/replies?limit=500"),
      api("GET", "/api/v1/jobs/" + id + "/assignments?limit=100"),
      api("GET", "/api/v1/jobs/" + id + "/feedback?limit=100")
    ]).then(function (r) {
      return api("GET", "/api/v1/customers/" + r[0].customer_id).then(function (c) {
        if (mine !== loading || shown !== id) { return; }
        render(r[0], c, r[1].items, r[2].items, r[3].items, r[4].items);
      });
    }).catch(fail);
  }

  function render(job, customer, messages, replies, assignments, feedback) {
    title.textContent = "Job " + job.number;
    var a = linkable(assignments);
    // The code the customer may ask for at the door, while the visit is on.
    var code = a && a.verification_code && a.status !== "done" ? " · door code " + a.verification_code : "";
    meta.textContent = customer.name + (customer.phone ? " · " + customer.phone : "") + " · " + board.fmtWindow(job) + code;
    panel.dataset.job = job.id;
    copy.disabled = !a; copy.dataset.assignment = a ? a.id : "";
    var items = messages.map(function (m) { return { at: m.created_at, m: m }; })
      .concat(replies.map(function (r) { return { at: r.received_at, r: r }; }))
      .concat(feedback.map(function (f) { return { at: f.created_at, f: f }; }))
      .sort(function (x, y) { return new Date(x.at) - new Date(y.at); });
    log.textContent = "";
    if (!items.length) { log.appendChild(el("li", "No messages yet.", "muted")); }
    items.forEach(function (it) { log.appendChild(it.m ? message(it.m) : it.r ? reply(it.r) : said(it.f)); });
    send.disabled = customer.sms_opt_out || !customer.phone;
    sendNote.textContent = !customer.phone ? "The customer has no phone number." : customer.sms_opt_out ?
      "The customer opted out of texts (replied STOP)." : "Sent from the company's number; kept in the job's log with your name.";
  }

  // linkable is the assignment a new tracking link would follow: the
  // latest unfinished one, else the latest done (its page asks for
  // feedback); none when every one was cancelled.
  function linkable(as) {
    var open = as.filter(function (a) { return a.status === "scheduled" || a.status === "dispatched" || a.status === "working"; });
    var done = as.filter(function (a) { return a.status === "done"; });
    return open[open.length - 1] || done[done.length - 1] || null;
  }

  var kinds = { dispatch: "On the way", late: "Running late", nearby: "Nearby", arrived: "Arrived", completed: "Completed",
    cancelled: "Cancelled", rescheduled: "Rescheduled", manual: "Dispatcher" };

  // standing says where a message stands, in words, and whether that is
  // bad news (the customer did not get it).
  function standing(m) {
    var d = m.delivery;
    if (d && d.status === "delivered") { return ["delivered", false]; }
    if (d && (d.status === "undelivered" || d.status === "failed")) { return ["not delivered: " + (d.error || "the carrier gave no reason"), true]; }
    switch (m.status) {
    case "queued": return [m.quiet_until ? "waiting for the end of quiet hours" : "on its way", false];
    case "sent": return ["sent", false];
    case "logged": return ["only logged, not sent: " + m.reason, true];
    default: return [m.status + ": " + m.reason, true];
    }
  }

  function message(m) {
    var li = el("li", null, "msg out"), s = standing(m);
    li.dataset.message = m.id;
    var h = el("div", null, "msg-head");
    h.appendChild(el("strong", (kinds[m.kind] || m.kind) + " · " + (m.channel === "sms" ? "text" : "e-mail")));
    h.appendChild(document.createTextNode(" · " + clock(m.created_at) + (m.author ? " · " + m.author : "") + (m.resend_of ? " · resent" : "")));
    li.appendChild(h);
    if (m.subject) { li.appendChild(el("div", m.subject, "subject")); }
    li.appendChild(el("div", m.body, "msg-body"));
    var st = el("div", s[0], s[1] ? "msg-state bad" : "msg-state");
    li.appendChild(st);
    if (m.status !== "queued") {
      var b = el("button", "Resend", "link");
      b.type = "button";
      b.setAttribute("aria-label", "Resend the " + (kinds[m.kind] || m.kind) + " " + (m.channel === "sms" ? "text" : "e-mail"));
      b.addEventListener("click", function () {
        b.disabled = true; error.hidden = true;
        api("POST", "/api/v1/messages/" + m.id + "/resend", undefined, idemKey()).then(load).catch(function (e) { b.disabled = false; fail(e); });
      });
      li.appendChild(b);
    }
    return li;
  }

  function reply(r) {
    var li = el("li", null, "msg in");
    li.dataset.reply = r.id;
    var h = el("div", null, "msg-head");
    h.appendChild(el("strong", "Customer"));
    h.appendChild(document.createTextNode(" · " + clock(r.received_at)));
    li.appendChild(h);
    li.appendChild(el("div", r.body, "msg-body"));
    return li;
  }

  // said is the customer's feedback on the visit, from their page.
  function said(f) {
    var li = el("li", null, "msg in feedback");
    var h = el("div", null, "msg-head");
    h.appendChild(el("strong", "Feedback · " + "★★★★★".slice(0, f.rating) + "☆☆☆☆☆".slice(0, 5 - f.rating)));
    h.appendChild(document.createTextNode(" · " + f.rating + " of 5 · " + clock(f.created_at)));
    li.appendChild(h);
    if (f.comment) { li.appendChild(el("div", f.comment, "msg-body")); }
    return li;
  }

  copy.addEventListener("click", function () {
    error.hidden = true;
    api("POST", "/api/v1/assignments/" + copy.dataset.assignment + "/tracking-link").then(function (l) {
      linkOut.value = l.url; linkOut.hidden = false; linkOut.select();
      var said = function (t) { linkState.textContent = t; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(l.url).then(function () { said("Copied: a new link, valid 24 hours."); },
          function () { said("Select the link to copy it: a new link, valid 24 hours."); });
      } else {
        said("Select the link to copy it: a new link, valid 24 hours.");
      }
    }).catch(fail);
  });

  text.addEventListener("input", function () { delete form.dataset.idem; }); // another text, another request
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    error.hidden = true; send.disabled = true;
    if (!form.dataset.idem) { form.dataset.idem = idemKey(); } // the same text, retried, is the same request
    api("POST", "/api/v1/jobs/" + shown + "/messages", { body: text.value }, form.dataset.idem).then(function () { text.value = ""; delete form.dataset.idem; return load(); })
      .catch(fail).then(function () { send.disabled = false; });
  });

  // activity takes a job's news from the live stream: the panel showing
  // the job reads it again; a reply is announced at the top of the board.
  function activity(m) {
    if (m.job_id === shown) { load(); }
    if (m.kind === "reply") { announce(m); }
  }

  function announce(m) {
    Promise.all([api("GET", "/api/v1/jobs/" + m.job_id), api("GET", "/api/v1/jobs/" + m.job_id + "/replies?limit=500")]).then(function (r) {
      var got = r[1].items.filter(function (x) { return x.id === m.id; })[0];
      if (!got) { return; }
      var li = el("li", null, "reply-note");
      li.dataset.job = m.job_id;
      li.appendChild(el("strong", "Reply on job " + r[0].number + " · " + clock(got.received_at)));
      li.appendChild(el("div", got.body, "msg-body"));
      var b = el("button", "Open", "small");
      b.type = "button";
      b.setAttribute("aria-label", "Open job " + r[0].number);
      b.addEventListener("click", function () { li.remove(); inbox.hidden = !inbox.children.length; open(m.job_id); });
      li.appendChild(b);
      inbox.insertBefore(li, inbox.firstChild);
      while (inbox.children.length > 5) { inbox.removeChild(inbox.lastChild); }
      inbox.hidden = false;
    }).catch(function () {});
  }

  return { open: open, activity: activity };
};
