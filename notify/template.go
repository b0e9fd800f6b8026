package notify

import (
	"fmt"
	"html"
	"slices"
	"strings"

	"github.com/enroutehq/enroute"
)

// Tokens an administrator may put in a template, written in braces:
// {CustomerFirstName}. Matching ignores case and spaces inside the braces;
// a literal brace is written twice: {{ or }}.
const (
	TokenCustomerName        = "CustomerName"
	TokenCustomerFirstName   = "CustomerFirstName"
	TokenTechnicianName      = "TechnicianName"
	TokenTechnicianFirstName = "TechnicianFirstName"
	TokenCompanyName         = "CompanyName"
	TokenCompanyPhone        = "CompanyPhone"
	TokenJobNumber           = "JobNumber"
	TokenServiceAddress      = "ServiceAddress"
	TokenArrivalWindow       = "ArrivalWindow"
	TokenTechTrackingURL     = "TechTrackingURL"
	TokenNewETA              = "NewETA"
	TokenETA                 = "ETA"
	TokenFeedbackURL         = "FeedbackURL"
)

// Tokens lists every token, in the order the token picker shows them.
var Tokens = []enroute.TokenInfo{
	{Token: TokenCustomerName, Description: "The customer's full name"},
	{Token: TokenCustomerFirstName, Description: "The customer's first name"},
	{Token: TokenTechnicianName, Description: "The technician's full name"},
	{Token: TokenTechnicianFirstName, Description: "The technician's first name"},
	{Token: TokenCompanyName, Description: "Your company's name"},
	{Token: TokenCompanyPhone, Description: "Your company's phone number"},
	{Token: TokenJobNumber, Description: "The job number"},
	{Token: TokenServiceAddress, Description: "The service address"},
	{Token: TokenArrivalWindow, Description: "The arrival window, like 9:00 AM – 11:00 AM on Fri, Nov 27"},
	{Token: TokenTechTrackingURL, Description: "The link to follow the technician live; left out while arrival tracking is off"},
	{Token: TokenNewETA, Description: "Running-late messages: the new expected arrival time, like 11:42 AM"},
	{Token: TokenETA, Description: "Nearby and running-late messages: the expected arrival time, like 11:42 AM"},
	{Token: TokenFeedbackURL, Description: "The link to the customer's page, which asks for their feedback once the visit is done (completed messages); sent even while arrival tracking is off"},
}

// Values are what the tokens stand for in one message.
type Values map[string]string

// part is a piece of a template: literal text, or a token (canonical name).
type part struct {
	text  string
	token string
}

// Template is a parsed message template.
type Template struct {
	parts []part
}

// ParseTemplate parses s, refusing an unknown or malformed token with an
// EINVALID error that names it (field is the settings field, for the
// error's fields).
func ParseTemplate(field, s string) (*Template, error) {
	var (
		t   Template
		lit strings.Builder
	)
	bad := func(format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		return &enroute.Error{Code: enroute.EINVALID, Message: msg, Fields: map[string]string{field: msg}}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '{' && strings.HasPrefix(s[i:], "{{"):
			lit.WriteByte('{')
			i++
		case c == '}' && strings.HasPrefix(s[i:], "}}"):
			lit.WriteByte('}')
			i++
		case c == '}':
			return nil, bad("A closing brace at character %d has no opening one; write }} for a literal brace.", i+1)
		case c == '{':
			end := strings.IndexAny(s[i+1:], "{}")
			if end < 0 || s[i+1+end] == '{' {
				return nil, bad("The token starting at character %d has no closing brace.", i+1)
			}
			name := s[i+1 : i+1+end]
			canon, ok := canonical(name)
			if !ok {
				return nil, bad("Unknown token {%s}. Known tokens: %s.", strings.TrimSpace(name), tokenList())
			}
			if lit.Len() > 0 {
				t.parts = append(t.parts, part{text: lit.String()})
				lit.Reset()
			}
			t.parts = append(t.parts, part{token: canon})
			i += end + 1
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, part{text: lit.String()})
	}
	return &t, nil
}

func canonical(name string) (string, bool) {
	name = strings.ReplaceAll(strings.TrimSpace(name), " ", "")
	for _, tok := range Tokens {
		if strings.EqualFold(tok.Token, name) {
			return tok.Token, true
		}
	}
	return "", false
}

func tokenList() string {
	names := make([]string, len(Tokens))
	for i, t := range Tokens {
		names[i] = "{" + t.Token + "}"
	}
	return strings.Join(names, ", ")
}

// hasLink reports whether the template carries a link: the feedback URL,
// or the tracking URL when tracking is on.
func (t *Template) hasLink(tracking bool) bool {
	return t.Has(TokenFeedbackURL) || (tracking && t.Has(TokenTechTrackingURL))
}

// Has reports whether the template uses token.
func (t *Template) Has(token string) bool {
	return slices.ContainsFunc(t.parts, func(p part) bool { return p.token == token })
}

// Text renders the template as plain text. A token without a value
// renders as nothing, and the blank lines and spaces that leaves behind
// are tidied.
func (t *Template) Text(v Values) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.token != "" {
			b.WriteString(v[p.token])
		} else {
			b.WriteString(p.text)
		}
	}
	return tidy(b.String())
}

// HTML renders the template as the body of an HTML e-mail: text and values
// escaped, blank lines separating paragraphs, line breaks kept, and the
// tracking URL a link.
func (t *Template) HTML(v Values) string {
	var b strings.Builder
	for _, p := range t.parts {
		switch {
		case (p.token == TokenTechTrackingURL || p.token == TokenFeedbackURL) && v[p.token] != "":
			u := html.EscapeString(v[p.token])
			fmt.Fprintf(&b, `<a href="%s">%s</a>`, u, u)
		case p.token != "":
			b.WriteString(html.EscapeString(v[p.token]))
		default:
			b.WriteString(html.EscapeString(p.text))
		}
	}
	var out strings.Builder
	for _, para := range strings.Split(tidy(b.String()), "\n\n") {
		out.WriteString("<p>")
		out.WriteString(strings.ReplaceAll(para, "\n", "<br>\n"))
		out.WriteString("</p>\n")
	}
	return out.String()
}

// tidy trims spaces at line ends, collapses runs of blank lines and trims
// the whole text.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := false
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		if l == "" {
			if blank || len(out) == 0 {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
