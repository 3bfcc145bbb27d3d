package hub

import (
	"math"
	"unicode/utf8"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/storage"
)

// checkText requires 1..max characters (0..max when optional).
func checkText(field, s string, max int, optional bool) error {
	n := utf8.RuneCountInString(s)
	if !utf8.ValidString(s) {
		return badRequest("%s is not valid UTF-8", field)
	}
	if n == 0 && !optional {
		return badRequest("%s is required", field)
	}
	if n > max {
		return badRequest("%s is longer than %d characters", field, max)
	}
	return nil
}

func validLatLng(lat, lng float64) bool {
	return !math.IsNaN(lat) && !math.IsNaN(lng) && lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180
}

func checkLatLng(field string, p *storage.LatLng, optional bool) error {
	if p == nil {
		if optional {
			return nil
		}
		return badRequest("%s is required", field)
	}
	if !validLatLng(p.Lat, p.Lng) {
		return badRequest("%s must have lat in [-90, 90] and lng in [-180, 180]", field)
	}
	return nil
}

// geoErr turns a geo validation error into a bad_request naming the field.
func geoErr(err error) error {
	if fe, ok := err.(*geo.FieldError); ok {
		return badRequest("%s: %s", fe.Field, fe.Msg)
	}
	return badRequest("%s", err.Error())
}
