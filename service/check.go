package service

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/storage"
)

// CheckText requires 1..max characters (0..max when optional) of valid
// UTF-8 without control characters (tab, newline and carriage return
// allowed) and without the Unicode bidirectional overrides and isolates
// (U+202A-U+202E, U+2066-U+2069), which can make a name or a report read
// as something else on another screen ("Trojan Source").
func CheckText(field, s string, max int, optional bool) error {
	n := utf8.RuneCountInString(s)
	if !utf8.ValidString(s) {
		return Invalid("%s is not valid UTF-8", field)
	}
	if n == 0 && !optional {
		return Invalid("%s is required", field)
	}
	if n > max {
		return Invalid("%s is longer than %d characters", field, max)
	}
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20 || (r >= 0x7f && r < 0xa0):
			return Invalid("%s contains a control character (U+%04X)", field, r)
		case (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			return Invalid("%s contains a bidirectional override (U+%04X)", field, r)
		}
	}
	return nil
}

// ValidLatLng tells whether lat and lng are WGS84 degrees.
func ValidLatLng(lat, lng float64) bool {
	return !math.IsNaN(lat) && !math.IsNaN(lng) && lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180
}

// CheckLatLng requires a valid position (or none, when optional).
func CheckLatLng(field string, p *storage.LatLng, optional bool) error {
	if p == nil {
		if optional {
			return nil
		}
		return Invalid("%s is required", field)
	}
	if !ValidLatLng(p.Lat, p.Lng) {
		return Invalid("%s must have lat in [-90, 90] and lng in [-180, 180]", field)
	}
	return nil
}

// GeoErr turns a geo validation error into a bad_request naming the field.
func GeoErr(err error) error {
	if fe, ok := err.(*geo.FieldError); ok {
		return Invalid("%s: %s", fe.Field, fe.Msg)
	}
	return Invalid("%s", err.Error())
}

// NewToken returns a random bearer token of 256 bits, URL-safe.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewID returns a random opaque id of 128 bits with a readable prefix.
func NewID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashToken is how tokens are stored: only their SHA-256, so a copy of the
// database does not hand out sessions. Tokens have 256 bits of entropy, so
// a fast hash is enough (no password stretching needed).
func HashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// OneOf lists names for an error message as "a, b, c" ("kind must be one
// of ...").
func OneOf(names []string) string { return strings.Join(names, ", ") }

// EitherOf lists names for an error message as "a, b or c" ("severity must
// be ...").
func EitherOf(names []string) string {
	if len(names) < 2 {
		return OneOf(names)
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
