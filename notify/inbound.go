package notify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/phone"
)

// Reply keywords, as carriers and Twilio define them.
var (
	optOutWords = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
	optInWords  = []string{"START", "YES", "UNSTOP"}
	helpWords   = []string{"HELP", "INFO"}
)

// keyword returns the reply's keyword: the whole message, trimmed, in
// capitals, without trailing punctuation.
func keyword(body string) string {
	return strings.ToUpper(strings.TrimRight(strings.TrimSpace(body), ".!? "))
}

// InboundSMS implements enroute.NotificationService: STOP and its synonyms
// opt every customer with the sender's number out of texts; START, YES and
// UNSTOP opt them back in; HELP is answered. Any other text is the
// customer's reply, stored on the job it answers.
func (s *Service) InboundSMS(ctx context.Context, in enroute.InboundText) (string, error) {
	from, body := in.From, in.Body
	if !enroute.ValidPhone(from) {
		return "", enroute.FieldErrors(map[string]string{"From": "must be an E.164 phone number"})
	}
	company, err := s.store.FindCompany(ctx)
	if err != nil {
		return "", err
	}
	k := keyword(body)
	var optOut bool
	switch {
	case slices.Contains(optOutWords, k):
		optOut = true
	case slices.Contains(optInWords, k):
	case slices.Contains(helpWords, k):
		reply := fmt.Sprintf("%s: texts about your service visits.", company.Name)
		if company.Phone != "" {
			reply += " Call " + phone.Display(company.Phone, company.Locale) + " for help."
		}
		return reply + " Reply STOP to unsubscribe.", nil
	case strings.TrimSpace(body) == "":
		return "", nil // an empty text (a picture alone): nothing to keep
	default:
		return "", s.storeReply(ctx, in)
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		return enroute.EachPage(enroute.MaxLimit, func(p enroute.Page) ([]*enroute.Customer, error) {
			return s.store.FindCustomers(ctx, enroute.CustomerFilter{Phone: &from, Page: p})
		}, func(c *enroute.Customer) error {
			_, err := s.store.UpdateCustomer(ctx, c.ID, enroute.CustomerUpdate{SMSOptOut: &optOut})
			return err
		})
	})
	if err != nil {
		return "", err
	}
	if optOut {
		return fmt.Sprintf("You are unsubscribed from %s texts and will get no more. Reply START to resubscribe.", company.Name), nil
	}
	return fmt.Sprintf("You are resubscribed to %s texts. Reply STOP to unsubscribe.", company.Name), nil
}

// storeReply keeps a customer's reply and tells the hooks of it (the
// webhooks' customer.replied, the boards), in one transaction.
func (s *Service) storeReply(ctx context.Context, in enroute.InboundText) error {
	r := &enroute.Reply{From: in.From, Body: cut(strings.TrimSpace(in.Body), enroute.MaxReplyLen), ProviderID: in.ProviderID}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		created, err := s.store.CreateReply(ctx, r)
		if err != nil || !created {
			return err
		}
		for _, h := range s.ReplyHooks {
			if err := h.ReplyReceived(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// cut shortens s to at most n bytes at a character boundary, marking the
// cut with an ellipsis.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	i := n - len(mark)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + mark
}
