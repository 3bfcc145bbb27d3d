package hub

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/longyou/hub/internal/redistest"
)

func TestDialRedis(t *testing.T) {
	ctx := context.Background()
	standalone := redistest.Start(t)
	secured := redistest.Start(t, "--requirepass", "s3cret")
	cl := redistest.StartCluster(t, 3)

	down := redistest.Start(t)
	down.Kill()

	cases := []struct {
		name, spec  string
		wantCluster bool
		wantErr     string
	}{
		{"standalone URL", standalone.URL(), false, ""},
		{"standalone host:port", standalone.Addr(), false, ""},
		{"password in URL", "redis://:s3cret@" + secured.Addr(), false, ""},
		{"wrong password", "redis://:nope@" + secured.Addr(), false, "WRONGPASS"},
		{"one cluster master's URL", "redis://" + cl.Nodes[1].Addr(), true, ""},
		{"seed list", strings.Join(cl.Addrs(), ","), true, ""},
		{"empty", " , ", false, "no address"},
		{"unreachable (client kept)", down.URL(), false, "unreachable"},
		{"bad URL", "redis://h:1/notadb", false, "address 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, cluster, err := DialRedis(ctx, tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("DialRedis(%q) err = %v, want one containing %q", tc.spec, err, tc.wantErr)
				}
				var ue *UnreachableError
				if errors.As(err, &ue) != (c != nil) {
					t.Fatalf("DialRedis(%q) = client %v with %v: a client comes back with an *UnreachableError only", tc.spec, c, err)
				}
				if c != nil {
					c.Close()
				}
				return
			}
			if err != nil {
				t.Fatalf("DialRedis(%q): %v", tc.spec, err)
			}
			defer c.Close()
			if cluster != tc.wantCluster {
				t.Fatalf("cluster = %v, want %v", cluster, tc.wantCluster)
			}
			if err := c.Set(ctx, "dial-test", "1", 0).Err(); err != nil {
				t.Fatalf("SET through the client: %v", err)
			}
		})
	}
}
