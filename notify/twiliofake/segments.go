package twiliofake

import "strings"

// The GSM 03.38 basic set and its extension table. The fake counts segments
// on its own, not with notify.Segments, so that tests comparing the two
// check something.
const (
	gsm7    = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Ext = "^{}\\[~]|€\f"
)

// segments is Twilio's num_segments for an SMS body: GSM-7 when every
// character is in the GSM alphabet (160 septets alone, 153 per part),
// otherwise UCS-2 (70 UTF-16 units alone, 67 per part).
func segments(body string) int {
	septets, units, gsm := 0, 0, true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsm7, r):
			septets++
		case strings.ContainsRune(gsm7Ext, r):
			septets += 2
		default:
			gsm = false
		}
		units++
		if r > 0xFFFF {
			units++ // a surrogate pair
		}
	}
	n, single, multi := units, 70, 67
	if gsm {
		n, single, multi = septets, 160, 153
	}
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}
