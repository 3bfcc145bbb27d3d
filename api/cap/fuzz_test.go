package cap

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzParse: whatever arrives, Parse never panics and answers an alert or
// one of its errors; an alert it accepts can be written (MarshalCAP never
// refuses what Parse accepted), reads back equal, and writes the same bytes
// again.
func FuzzParse(f *testing.F) {
	for _, name := range fixtures(f) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(base))
	for _, s := range []string{
		"",
		"<alert/>",
		`<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"><identifier>a</identifier></alert>`,
		`<!DOCTYPE alert [<!ENTITY a "b">]><alert>&a;</alert>`,
		`<alert><info><area><polygon>1,1 2,2 3,3 1,1</polygon><circle>1,1 0</circle></area></info></alert>`,
		`<x:alert xmlns:x="urn:oasis:names:tc:emergency:cap:1.2"><x:sent>2026-01-01T00:00:00.5+14:00</x:sent></x:alert>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse(data)
		if err != nil {
			var ee *ElementError
			if !errors.As(err, &ee) && !errors.Is(err, ErrNotXML) && !errors.Is(err, ErrNotCAP) &&
				!errors.Is(err, ErrDoctype) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		out, err := a.MarshalCAP()
		if err != nil {
			t.Fatalf("MarshalCAP of a parsed alert: %v", err)
		}
		b, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(MarshalCAP): %v\n%s", err, out)
		}
		if d := diffAlerts(a, b); d != "" {
			t.Fatalf("round trip differs at %s\n%s", d, out)
		}
		again, err := b.MarshalCAP()
		if err != nil || !bytes.Equal(out, again) {
			t.Fatalf("second MarshalCAP: %v\n%s\n---\n%s", err, out, again)
		}
		// The mapping helpers take any parsed alert.
		_ = a.Shapes()
		_ = a.DivisionCodes()
		if in := a.InfoFor("zh-CN"); in != nil {
			_ = Body(in) + Title(in) + HubSeverity(in.Severity) + HubKind(in)
		}
	})
}
