package main

// The board's job panel (board-job.js) in Chromium: the conversation with
// the customer, live replies, answering, resending and copying a link.

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/enroutehq/enroute/internal/twiliotest"
	"github.com/enroutehq/enroute/notify"
)

func TestBoardJobConversation(t *testing.T) {
	st := newStack(t, "ENROUTE_TILE_URL", "http://127.0.0.1:9/{z}/{x}/{y}.png")
	ctx := browser(t)
	viewport(t, ctx, 390, 844)
	st.settings(true, false, true, false)
	const customer = "+351912345678"
	job := st.job(st.site(customer, ""))
	number := st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d", job), nil).str("number")
	tech, _, token := st.device("Ana Silva")
	st.fixAt(token, 41.14, -8.61)
	st.sms.Script(twiliotest.Delivered)
	st.move(st.assign(job, tech), "dispatch")
	st.settle([]int64{job}, 1, 0)

	logIn(t, ctx, "http://"+st.m.Addr()+"/dispatch", testAdminToken)
	click := func(sel string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatalf("click %s: %v", sel, err)
		}
	}
	log := `document.querySelector("#jd-log").innerText`
	until(t, ctx, "the Messages button", fmt.Sprintf(`!!document.querySelector('button[aria-label="Messages of job %s"]')`, number), `document.querySelector("#techs").innerText`)
	click(fmt.Sprintf(`button[aria-label="Messages of job %s"]`, number))
	until(t, ctx, "the dispatch text, delivered", log+`.includes("On the way · text") && `+log+`.includes("delivered")`, log)
	if h := text(t, ctx, "#jd-h"); h != "Job "+number {
		t.Fatalf("panel title = %q", h)
	}
	code := st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d/assignments", job), nil).items()[0]["verification_code"]
	if m := text(t, ctx, "#jd-meta"); code == nil || !strings.Contains(m, fmt.Sprint("door code ", code)) {
		t.Fatalf("panel meta = %q, code %v", m, code)
	}

	// The customer replies: announced at the top, and in the open panel,
	// live; what they typed shows as text.
	form := url.Values{"From": {customer}, "To": {companySMS}, "Body": {"Gate code <b>4321</b>"}, "MessageSid": {"SMboard"}, "AccountSid": {st.sms.AccountSID}}
	if r := st.rawPost("/api/v1/sms/inbound", form.Encode(), "X-Twilio-Signature", notify.TwilioSignature(st.sms.AuthToken, testPublicURL+"/api/v1/sms/inbound", form)); r.status != 200 {
		t.Fatalf("reply = %d %s", r.status, r.raw)
	}
	until(t, ctx, "the reply in the panel", log+`.includes("Customer") && `+log+`.includes("Gate code <b>4321</b>")`, log)
	until(t, ctx, "the reply announced", `document.querySelector("#inbox").innerText.includes("Reply on job `+number+`")`, `document.querySelector("#inbox").innerText`)
	if n := eval[int](t, ctx, `document.querySelectorAll("#jd-log b, #inbox b").length`); n != 0 {
		t.Fatalf("the customer's text was rendered as HTML: %d <b> elements", n)
	}
	screenshot(t, ctx, "board-job-reply-phone")

	// Answered from the board: a text from the company's number, in the
	// log with the key's name.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#jd-text"), "Thanks, Ana will use it.")); err != nil {
		t.Fatal(err)
	}
	click("#jd-send")
	texts := st.sms.WaitFor(t, 2, 10*time.Second)
	if texts[1].To != customer || texts[1].Body != "Thanks, Ana will use it." {
		t.Fatalf("answer = %+v", texts[1])
	}
	until(t, ctx, "the answer in the log", log+`.includes("Dispatcher · text") && `+log+`.includes("Thanks, Ana will use it.")`, log)

	// Resent: a third text, with a new link, shown as resent and sent.
	click(`#jd-log li[data-message] button[aria-label="Resend the On the way text"]`)
	texts = st.sms.WaitFor(t, 3, 10*time.Second)
	if linkIn(t, texts[2]) == linkIn(t, texts[0]) {
		t.Fatalf("resent with the same link: %q", texts[2].Body)
	}
	until(t, ctx, "the resend, sent", `[...document.querySelectorAll("#jd-log li.msg.out")].some(li => li.innerText.includes("resent") && /\bsent\b|delivered/.test(li.querySelector(".msg-state").textContent))`, log)

	// A new link to copy.
	click("#jd-copy")
	until(t, ctx, "the link shown", `!document.querySelector("#jd-link").hidden && document.querySelector("#jd-link").value.includes("/t/")`, `document.querySelector("#jd-link-state").textContent`)
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Fatalf("the board is %d px wide on a 390 px phone", w)
	}
	screenshot(t, ctx, "board-job-conversation-phone")
	// The customer's feedback after the visit shows in the conversation.
	a := int64(st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d/assignments", job), nil).items()[0]["id"].(float64))
	link := st.ok("POST", fmt.Sprintf("/api/v1/assignments/%d/tracking-link", a), nil).str("token")
	st.move(a, "start")
	st.move(a, "complete")
	if r := st.do("POST", "/t/"+link+"/feedback", map[string]any{"rating": 4, "comment": "Quick & tidy"}); r.status >= 300 {
		t.Fatalf("feedback = %d %s", r.status, r.raw)
	}
	click(`#jd-close`)
	click(fmt.Sprintf(`#inbox button[aria-label="Open job %s"]`, number))
	until(t, ctx, "the feedback", log+`.includes("Feedback · ★★★★☆") && `+log+`.includes("Quick & tidy")`, log)
	if got := st.messages(job); len(got) != 3 || got[1]["kind"] != "manual" || got[1]["author"] == nil || got[2]["resend_of"] != got[0]["id"] {
		t.Fatalf("log = %v", got)
	}
}
