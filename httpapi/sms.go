package httpapi

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/enroutehq/enroute"
)

// twiml is Twilio's reply document.
type twiml struct {
	XMLName xml.Name `xml:"Response"`
	Message string   `xml:"Message,omitempty"`
}

// twilioForm reads a Twilio webhook's form and checks its
// X-Twilio-Signature, computed over the URL Twilio called (the public URL,
// path and query) and the POST parameters with the account's auth token.
// Every Twilio webhook is read through it.
func (s *Server) twilioForm(c echo.Context) (url.Values, error) {
	if s.cfg.VerifySMSWebhook == nil {
		return nil, errorf(enroute.ENOTFOUND, "Twilio's webhooks need ENROUTE_SMS_PROVIDER=twilio.")
	}
	r := c.Request()
	if err := r.ParseForm(); err != nil {
		return nil, errorf(enroute.EINVALID, "Send Twilio's form-encoded fields.")
	}
	full := s.cfg.PublicURL + r.URL.RequestURI()
	if !s.cfg.VerifySMSWebhook(full, r.PostForm, r.Header.Get("X-Twilio-Signature")) {
		return nil, errorf(enroute.EFORBIDDEN, "Invalid X-Twilio-Signature.")
	}
	return r.PostForm, nil
}

// inboundSMS is Twilio's webhook for texts sent to the company's number.
func (s *Server) inboundSMS(c echo.Context) error {
	form, err := s.twilioForm(c)
	if err != nil {
		return err
	}
	in := enroute.InboundText{From: form.Get("From"), Body: form.Get("Body"), ProviderID: form.Get("MessageSid")}
	reply, err := s.notify.InboundSMS(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.XML(http.StatusOK, twiml{Message: reply})
}

// smsStatus is Twilio's status callback for the texts Enroute sends (each
// names it as its StatusCallback, with ?message=ID): a delivery receipt.
// Receipts come late, out of order and more than once; the store keeps
// the furthest status. A receipt Enroute cannot use (a status that says
// nothing of delivery, a text it does not know) is answered 200 all the
// same, or Twilio would retry it.
func (s *Server) smsStatus(c echo.Context) error {
	form, err := s.twilioForm(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	rep := enroute.DeliveryReport{ProviderID: form.Get("MessageSid"), Status: enroute.DeliveryStatus(form.Get("MessageStatus"))}
	if rep.ProviderID == "" {
		return errorf(enroute.EINVALID, "MessageSid is required.")
	}
	log := s.logger.With("provider_id", rep.ProviderID, "delivery_status", rep.Status)
	if rep.Status.Rank() == 0 {
		log.DebugContext(ctx, "delivery receipt ignored: not a delivery status")
		return c.NoContent(http.StatusOK)
	}
	if code, err := strconv.Atoi(form.Get("ErrorCode")); err == nil && code > 0 && code < 1_000_000 {
		rep.ErrorCode = code // Twilio's are five digits; anything else is no code
	}
	rep.MessageID, _ = strconv.ParseInt(c.QueryParam("message"), 10, 64) // signed with the URL; absent: 0
	var (
		m       *enroute.Message
		changed bool
	)
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if m, changed, err = s.store.UpdateMessageDelivery(ctx, rep); err != nil || !changed || m.Delivery == nil || m.Delivery.Status.Rank() < enroute.DeliveryDelivered.Rank() {
			return err
		}
		for _, h := range s.msgHooks { // a final report: the webhooks hear of it
			if err := h.MessageDelivery(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case enroute.ErrorCode(err) == enroute.ENOTFOUND:
		log.DebugContext(ctx, "delivery receipt ignored: no such text")
		return c.NoContent(http.StatusOK)
	case err != nil:
		return err
	}
	log = log.With("message_id", m.ID, "assignment_id", m.AssignmentID, "changed", changed)
	if changed && (rep.Status == enroute.DeliveryUndelivered || rep.Status == enroute.DeliveryFailed) {
		log.InfoContext(ctx, "text not delivered", "error_code", rep.ErrorCode)
	} else {
		log.DebugContext(ctx, "delivery receipt")
	}
	return c.NoContent(http.StatusOK)
}
