package hub

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
)

// pngBytes is a 1x1 PNG.
var pngBytes, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
