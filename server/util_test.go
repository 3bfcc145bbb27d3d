package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"

	"github.com/longyou/hub/geo"
)

// pngBytes is a 1x1 PNG.
var pngBytes, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

func areaCircle(lat, lng, r float64) *geo.Area {
	return &geo.Area{Circle: &geo.Circle{Lat: lat, Lng: lng, RadiusM: r}}
}
