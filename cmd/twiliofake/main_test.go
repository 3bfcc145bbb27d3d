package main

import (
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		addr    string
		auto    time.Duration
		wantErr bool
	}{
		{"defaults", nil, nil, "127.0.0.1:8089", 2 * time.Second, false},
		{"env", nil, map[string]string{"TWILIOFAKE_ADDR": ":0", "TWILIOFAKE_AUTO_DELIVER": "0"}, ":0", 0, false},
		{"flagBeatsEnv", []string{"-addr", "127.0.0.1:9999", "-auto-deliver", "500ms"},
			map[string]string{"TWILIOFAKE_ADDR": ":0"}, "127.0.0.1:9999", 500 * time.Millisecond, false},
		{"badDuration", []string{"-auto-deliver", "soon"}, nil, "", 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseConfig(c.args, func(k string) string { return c.env[k] })
			if (err != nil) != c.wantErr {
				t.Fatalf("parseConfig: %v", err)
			}
			if err == nil && (cfg.addr != c.addr || cfg.autoDeliver != c.auto || cfg.accountSID == "" || cfg.authToken == "") {
				t.Fatalf("config = %+v", cfg)
			}
		})
	}
}
