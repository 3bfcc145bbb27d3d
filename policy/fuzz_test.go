package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzDecodeValidate: whatever an admin PUTs, decoding and Validate never
// panic, and a policy that passes Validate answers every question without
// panicking and survives a JSON round trip unchanged.
func FuzzDecodeValidate(f *testing.F) {
	def, err := os.ReadFile(filepath.Join("testdata", "default.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def)
	for _, s := range []string{
		`{}`,
		`null`,
		`{"reports":{"kinds":[{"name":"fire","due":"30s","escalate":"1m"}],"statuses":["new","done"],"initial":"new","transitions":{"new":["done"]}}}`,
		`{"reports":{"villages":{"v":{"fire":{"due":"-1s"}}},"transitions":{"a":["b"],"b":["a"]}}}`,
		`{"reports":{"statuses":["a","b","c"],"initial":"a","transitions":{"a":["b"],"b":["c"],"c":["b"]}}}`,
		`{"reports":{"statuses":["a","a"],"initial":"a","transitions":{"a":["a","a"]}}}`,
		`{"limits":{"report":{"every":"0s","burst":-1}},"alerts":{"severities":[{"name":"x","rank":-9}]}}`,
		`{"alerts":{"default_ttl":"9223372036854775807ns","max_ttl":"1h"}}`,
		// v1.6 report handling: county limits and handling.
		`{"reports":{"kinds":[{"name":"fire","due":"30s","escalate":"1m","county":"2m"}],"villages":{"v":{"fire":{"county":"90s"}}},"statuses":["new","done"],"initial":"new","transitions":{"new":["done"]}},"handling":{"sms_delay":"10s","village_radius_m":3000}}`,
		`{"reports":{"kinds":[{"name":"fire","due":"30s","county":"2m"}]},"handling":{"sms_delay":"-1s","village_radius_m":-5}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Policy
		if err := json.Unmarshal(b, &p); err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			return
		}
		for _, k := range p.Reports.Kinds {
			for v := range p.Reports.Villages {
				if p.DueAt(k.Name, v, t0).Before(t0) {
					t.Fatalf("DueAt(%q, %q) before creation", k.Name, v)
				}
				if e := p.EscalateAt(k.Name, v, t0); !e.IsZero() && !e.After(p.DueAt(k.Name, v, t0)) {
					t.Fatalf("EscalateAt(%q, %q) = %v not after DueAt", k.Name, v, e)
				}
				if d := p.DeadlinesOf(k.Name, v, t0); !d.County.IsZero() && (d.Escalate.IsZero() || !d.County.After(d.Escalate)) {
					t.Fatalf("DeadlinesOf(%q, %q) = %+v: county not after escalate", k.Name, v, d)
				}
			}
		}
		for _, from := range p.Reports.Statuses {
			for _, to := range p.Reports.Statuses {
				if from != to && p.CanMove(from, to) && p.CanMove(to, from) {
					t.Fatalf("%s <-> %s both allowed in a valid policy", from, to)
				}
			}
		}
		for a := range p.Limits {
			if perSecond, burst := p.Limit(a); perSecond <= 0 || burst < 1 {
				t.Fatalf("Limit(%q) = %v, %d", a, perSecond, burst)
			}
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal a valid policy: %v", err)
		}
		var back Policy
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("decode %s: %v", out, err)
		}
		if !reflect.DeepEqual(normalize(back), normalize(p)) {
			t.Fatalf("round trip changed the policy:\n%+v\n%+v", back, p)
		}
	})
}

// normalize maps empty maps and slices to nil: JSON cannot tell {} from an
// absent omitempty field, and neither can the policy's methods.
func normalize(p Policy) Policy {
	if len(p.Reports.Villages) == 0 {
		p.Reports.Villages = nil
	}
	for id, m := range p.Reports.Villages {
		if len(m) == 0 {
			p.Reports.Villages[id] = nil
		}
	}
	if len(p.Limits) == 0 {
		p.Limits = nil
	}
	for from, tos := range p.Reports.Transitions {
		if len(tos) == 0 {
			p.Reports.Transitions[from] = nil
		}
	}
	if len(p.Reports.Transitions) == 0 {
		p.Reports.Transitions = nil
	}
	return p
}
