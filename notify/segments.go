package notify

import "unicode/utf8"

// GSM 03.38 basic character set and its extension table (each extension
// character costs two septets).
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
const gsmExt = "^{}\\[~]|€\f"

var gsmBasicSet, gsmExtSet = runeSet(gsmBasic), runeSet(gsmExt)

func runeSet(s string) map[rune]bool {
	m := make(map[rune]bool, len(s))
	for _, r := range s {
		m[r] = true
	}
	return m
}

// Segments counts the SMS segments body needs and names its encoding:
// "GSM-7" (160 septets in one segment, 153 per segment when split) or
// "UCS-2" (70 characters in one, 67 per segment when split; a character
// outside the Basic Multilingual Plane counts twice).
func Segments(body string) (n int, encoding string) {
	septets, gsm := 0, true
	for _, r := range body {
		switch {
		case gsmBasicSet[r]:
			septets++
		case gsmExtSet[r]:
			septets += 2
		default:
			gsm = false
		}
	}
	if gsm {
		return split(septets, 160, 153), "GSM-7"
	}
	units := 0
	for _, r := range body {
		units += utf16Len(r)
	}
	return split(units, 70, 67), "UCS-2"
}

func split(units, single, multi int) int {
	if units <= single {
		return 1
	}
	return (units + multi - 1) / multi
}

func utf16Len(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// Truncate shortens body so that it fits in at most maxSegments segments,
// ending it with an ellipsis when it cut anything.
func Truncate(body string, maxSegments int) string {
	if n, _ := Segments(body); n <= maxSegments {
		return body
	}
	runes := []rune(body)
	lo, hi := 0, len(runes)
	for lo < hi { // largest prefix that fits with the ellipsis
		mid := (lo + hi + 1) / 2
		if n, _ := Segments(string(runes[:mid]) + "…"); n <= maxSegments {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	out := string(runes[:lo]) + "…"
	if !utf8.ValidString(out) {
		return ""
	}
	return out
}
