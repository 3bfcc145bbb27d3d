package service

import (
	"strings"
	"testing"
)

func TestCheckText(t *testing.T) {
	for _, c := range []struct {
		s    string
		ok   bool
		want string
	}{
		{"山洪预警", true, ""},
		{"第一行\n第二行\t缩进\r\n", true, ""},
		{"", false, "required"},
		{strings.Repeat("长", 21), false, "longer"},
		{"bell\a", false, "control character (U+0007)"},
		{"nul\x00", false, "control character (U+0000)"},
		{"c1\u0085", false, "control character (U+0085)"},
		{"admin\u202egnp.exe", false, "bidirectional override (U+202E)"},
		{"x\u2066y\u2069", false, "bidirectional override (U+2066)"},
		{"\xff", false, "UTF-8"},
	} {
		err := CheckText("name", c.s, 20, false)
		if (err == nil) != c.ok || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("CheckText(%q) = %v, want ok=%v %q", c.s, err, c.ok, c.want)
		}
	}
}
