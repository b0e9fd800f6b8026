package notify

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/enroutehq/enroute"
)

// maxManualRunes bounds a dispatcher's text: ten segments of GSM-7.
const maxManualRunes = 1600

// SendText implements enroute.NotificationService. The text goes to the
// customer's phone from the company's number, on the job's latest
// assignment, whatever the dispatch settings say: a dispatcher answering
// a customer chose to. The customer's opt-out (STOP) still holds.
func (s *Service) SendText(ctx context.Context, jobID int64, body, author string) (*enroute.Message, error) {
	body = strings.TrimSpace(body)
	switch n := utf8.RuneCountInString(body); {
	case n == 0:
		return nil, enroute.FieldErrors(map[string]string{"body": "is required"})
	case n > maxManualRunes:
		return nil, enroute.FieldErrors(map[string]string{"body": fmt.Sprintf("must be at most %d characters", maxManualRunes)})
	}
	var m *enroute.Message
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		st, err := s.store.FindSettings(ctx)
		if err != nil {
			return err
		}
		job, err := s.store.FindJobByID(ctx, jobID)
		if err != nil {
			return err
		}
		as, err := s.store.FindAssignments(ctx, enroute.AssignmentFilter{JobID: &jobID})
		if err != nil {
			return err
		} else if len(as) == 0 {
			return enroute.Errorf(enroute.ECONFLICT, "Job %s has no assignment yet: texts are kept with a technician's visit. Assign a technician first.", job.Number)
		}
		cust, err := s.store.FindCustomerByID(ctx, job.CustomerID)
		if err != nil {
			return err
		}
		m = &enroute.Message{AssignmentID: as[len(as)-1].ID, JobID: job.ID, CustomerID: cust.ID, Kind: enroute.KindManual,
			Channel: enroute.ChannelSMS, Body: body, Author: author}
		if err := s.address(st, cust, m); err != nil {
			return err
		}
		return s.queue(ctx, m)
	})
	return m, err
}

// Resend implements enroute.NotificationService. The message goes out
// with the texts the customer got; a tracking link in them (redacted once
// the message was final) is made anew. The limit rule does not hold a
// resend back: a dispatcher asked for it.
func (s *Service) Resend(ctx context.Context, messageID int64, author string) (*enroute.Message, error) {
	var m *enroute.Message
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		ms, err := s.store.FindMessages(ctx, enroute.MessageFilter{ID: &messageID})
		if err != nil {
			return err
		} else if len(ms) == 0 {
			return enroute.Errorf(enroute.ENOTFOUND, "Message %d not found.", messageID)
		}
		orig := ms[0]
		if orig.Status == enroute.MessageQueued {
			return enroute.Errorf(enroute.ECONFLICT, "Message %d is still being sent; resend it once it is sent or has failed.", orig.ID)
		}
		st, err := s.store.FindSettings(ctx)
		if err != nil {
			return err
		}
		cust, err := s.store.FindCustomerByID(ctx, orig.CustomerID)
		if err != nil {
			return err
		}
		id := orig.ID
		m = &enroute.Message{AssignmentID: orig.AssignmentID, JobID: orig.JobID, CustomerID: orig.CustomerID, Kind: orig.Kind,
			Channel: orig.Channel, Subject: orig.Subject, Body: orig.Body, HTML: orig.HTML, Author: author, ResendOf: &id}
		if err := s.address(st, cust, m); err != nil {
			return err
		}
		if strings.Contains(m.Subject+m.Body+m.HTML, enroute.RedactedLink) {
			token := enroute.NewTrackingToken()
			if err := s.store.CreateTrackingLink(ctx, &enroute.TrackingLink{AssignmentID: m.AssignmentID}, enroute.HashSecret(token)); err != nil {
				return err
			}
			r := strings.NewReplacer(enroute.RedactedLink, token)
			m.Subject, m.Body, m.HTML, m.LinkToken = r.Replace(m.Subject), r.Replace(m.Body), r.Replace(m.HTML), token
		}
		return s.queue(ctx, m)
	})
	if err != nil {
		return nil, err
	}
	m.Redact() // the link is the customer's
	return m, nil
}

// address sets m's sender from the settings and its recipient from the
// customer as they are now, or says why m cannot go.
func (s *Service) address(st *enroute.Settings, cust *enroute.Customer, m *enroute.Message) error {
	switch m.Channel {
	case enroute.ChannelSMS:
		m.From, m.To = st.Dispatch.Text.FromNumber, cust.Phone
		switch {
		case m.From == "":
			return errNoSMSNumber()
		case cust.Phone == "":
			return enroute.Errorf(enroute.ECONFLICT, "The customer has no phone number; add it to the customer first.")
		case cust.SMSOptOut:
			return enroute.Errorf(enroute.ECONFLICT, "The customer opted out of texts (replied STOP); they get none until they reply START.")
		}
	case enroute.ChannelEmail:
		m.From, m.FromName, m.To = st.Dispatch.Email.FromAddress, st.Dispatch.Email.FromName, cust.Email
		switch {
		case m.From == "" || !s.cfg.emailTransport():
			return errNoEmailSender(s.cfg.emailTransport())
		case cust.Email == "":
			return enroute.Errorf(enroute.ECONFLICT, "The customer has no e-mail address; add it to the customer first.")
		}
	}
	return nil
}

// queue writes m to the outbox, queued, and wakes the worker once it
// commits.
func (s *Service) queue(ctx context.Context, m *enroute.Message) error {
	m.Status = enroute.MessageQueued
	if err := s.store.CreateMessage(ctx, m); err != nil {
		return err
	}
	if s.Wake != nil {
		s.store.AfterCommit(ctx, s.Wake)
	}
	return nil
}
