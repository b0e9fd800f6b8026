package notify

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/enroutehq/enroute"
)

var sample = Values{
	TokenCustomerName: "Maria Costa", TokenCustomerFirstName: "Maria",
	TokenTechnicianName: "Ana Silva", TokenTechnicianFirstName: "Ana",
	TokenCompanyName: "Cool Air <HVAC> & Sons", TokenCompanyPhone: "+13125550100",
	TokenJobNumber: "J-1", TokenServiceAddress: "Rua A 1, Porto",
	TokenArrivalWindow: "9:00 AM – 11:00 AM on Fri, Nov 27", TokenTechTrackingURL: "https://enroute.test/t/abc",
}

func TestParseTemplate(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, wantErr string
	}{
		{"Tokens", "Hi {CustomerFirstName}, {TechnicianFirstName} is coming.", "Hi Maria, Ana is coming.", ""},
		{"CaseAndSpaces", "{ customerfirstname }/{Tech Tracking URL}", "Maria/https://enroute.test/t/abc", ""},
		{"LiteralBraces", "{{not a token}} {JobNumber}", "{not a token} J-1", ""},
		{"NoTokens", "Plain text.", "Plain text.", ""},
		{"Unknown", "Hi {CustomerNickname}", "", "{CustomerNickname}"},
		{"Unclosed", "Hi {CustomerName", "", "no closing brace"},
		{"NestedOpen", "Hi {Customer{Name}", "", "no closing brace"},
		{"StrayClose", "Hi } there", "", "closing brace"},
		{"Empty", "Hi {}", "", "Unknown token {}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := ParseTemplate("template", tc.in)
			if tc.wantErr != "" {
				if enroute.ErrorCode(err) != enroute.EINVALID || !strings.Contains(enroute.ErrorMessage(err), tc.wantErr) ||
					enroute.ErrorFields(err)["template"] == "" {
					t.Fatalf("ParseTemplate(%q) = %v, want an error naming %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tpl.Text(sample); got != tc.want {
				t.Fatalf("Text = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTemplateMissingValueIsTidied(t *testing.T) {
	tpl, err := ParseTemplate("template", enroute.DefaultTextTemplate)
	if err != nil {
		t.Fatal(err)
	}
	v := Values{}
	for k, val := range sample {
		v[k] = val
	}
	delete(v, TokenTechTrackingURL)
	got := tpl.Text(v)
	if strings.HasSuffix(got, " ") || strings.Contains(got, "{") {
		t.Fatalf("Text without a link = %q", got)
	}
	body, _ := ParseTemplate("body", enroute.DefaultEmailBody)
	if text := body.Text(v); strings.Contains(text, "\n\n\n") {
		t.Fatalf("blank lines left behind: %q", text)
	}
}

func TestTemplateHTML(t *testing.T) {
	tpl, err := ParseTemplate("body", "Hi {CustomerFirstName} <b>,\n\nFrom {CompanyName}.\nTrack: {TechTrackingURL}")
	if err != nil {
		t.Fatal(err)
	}
	got := tpl.HTML(sample)
	want := "<p>Hi Maria &lt;b&gt;,</p>\n<p>From Cool Air &lt;HVAC&gt; &amp; Sons.<br>\nTrack: <a href=\"https://enroute.test/t/abc\">https://enroute.test/t/abc</a></p>\n"
	if got != want {
		t.Fatalf("HTML =\n%q\nwant\n%q", got, want)
	}
	if !tpl.Has(TokenTechTrackingURL) || tpl.Has(TokenJobNumber) {
		t.Fatal("Has")
	}
}

func TestSMSInfo(t *testing.T) {
	for _, tc := range []struct {
		name     string
		body     string
		encoding string
		segments int
	}{
		{"Empty", "", "GSM-7", 0},
		{"Short", "Ana is on the way.", "GSM-7", 1},
		{"Exactly160", strings.Repeat("a", 160), "GSM-7", 1},
		{"161", strings.Repeat("a", 161), "GSM-7", 2},
		{"306", strings.Repeat("a", 306), "GSM-7", 2},
		{"307", strings.Repeat("a", 307), "GSM-7", 3},
		{"ExtensionCountsTwice", strings.Repeat("€", 80), "GSM-7", 1},
		{"ExtensionOverflows", strings.Repeat("€", 81), "GSM-7", 2},
		// 306 septets would fit in 2 parts, but the € cannot straddle them.
		{"ExtensionNotSplit", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152), "GSM-7", 3},
		{"GSMAccents", "Olá, é às 9h", "UCS-2", 1},
		{"UCS2", "Ana está a caminho 🚐", "UCS-2", 1},
		{"UCS2Exactly70", strings.Repeat("ç", 70), "UCS-2", 1},
		{"UCS2Long", strings.Repeat("ç", 71), "UCS-2", 2},
		// 134 units would fit in 2 parts, but the emoji's pair cannot straddle them.
		{"SurrogateNotSplit", strings.Repeat("ç", 66) + "🚐" + strings.Repeat("ç", 66), "UCS-2", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SMSInfo(tc.body)
			if got.Encoding != tc.encoding || got.Segments != tc.segments || got.Characters != utf8.RuneCountInString(tc.body) {
				t.Fatalf("SMSInfo = %+v, want %s in %d segments", got, tc.encoding, tc.segments)
			}
		})
	}
}

// FuzzParseTemplate: parsing never panics, and a template that parses
// renders without leftover tokens and round-trips its literal braces.
func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{enroute.DefaultTextTemplate, enroute.DefaultEmailBody, enroute.DefaultEmailSubject,
		"{{x}}", "{", "}", "{CustomerName", "{ tech tracking url }", "a{{{JobNumber}}}b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tpl, err := ParseTemplate("template", s)
		if err != nil {
			if enroute.ErrorCode(err) != enroute.EINVALID {
				t.Fatalf("error code %s", enroute.ErrorCode(err))
			}
			return
		}
		_ = tpl.Text(sample)
		h := tpl.HTML(Values{TokenCompanyName: "<script>"})
		if strings.Contains(h, "<script>") {
			t.Fatalf("HTML not escaped: %q", h)
		}
	})
}
