package notify

import (
	"unicode/utf16"
	"unicode/utf8"

	"github.com/enroutehq/enroute"
)

// gsm7 is the GSM 03.38 basic character set; gsm7ext the extension table,
// whose characters take two septets (an escape and the character).
var (
	gsm7    = charset("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
	gsm7ext = charset("^{}\\[~]|€\f")
)

func charset(s string) map[rune]bool {
	m := map[rune]bool{}
	for _, r := range s {
		m[r] = true
	}
	return m
}

// Segment sizes: a single GSM-7 text holds 160 septets, a part of a longer
// one 153 (the rest is the concatenation header); UCS-2, 70 and 67 UTF-16
// units.
const (
	gsmSingle, gsmPart   = 160, 153
	ucs2Single, ucs2Part = 70, 67
)

// SMSInfo tells how body travels as a text: its characters, the encoding
// (GSM-7, or UCS-2 when any character is outside GSM-7) and the number of
// segments the carrier bills. A character never straddles two segments.
func SMSInfo(body string) enroute.SMSInfo {
	info := enroute.SMSInfo{Characters: utf8.RuneCountInString(body), Encoding: "GSM-7"}
	if body == "" {
		return info
	}
	if _, ok := FirstNonGSM(body); ok {
		info.Encoding = "UCS-2"
		info.Segments = segments(body, ucs2Single, ucs2Part, func(r rune) int { return utf16.RuneLen(r) })
		return info
	}
	info.Segments = segments(body, gsmSingle, gsmPart, func(r rune) int {
		if gsm7ext[r] {
			return 2
		}
		return 1
	})
	return info
}

func segments(body string, single, part int, size func(rune) int) int {
	total := 0
	for _, r := range body {
		total += size(r)
	}
	if total <= single {
		return 1
	}
	n, used := 1, 0
	for _, r := range body {
		s := size(r)
		if used+s > part {
			n, used = n+1, 0
		}
		used += s
	}
	return n
}

// FirstNonGSM returns the first character of s that GSM-7 cannot carry.
func FirstNonGSM(s string) (rune, bool) {
	for _, r := range s {
		if !gsm7[r] && !gsm7ext[r] {
			return r, true
		}
	}
	return 0, false
}
