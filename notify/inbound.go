package notify

import (
	"context"
	"fmt"
	"slices"
	"strings"

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
// UNSTOP opt them back in; HELP is answered. Other replies are ignored.
func (s *Service) InboundSMS(ctx context.Context, from, body string) (string, error) {
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
	default:
		return "", nil
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
