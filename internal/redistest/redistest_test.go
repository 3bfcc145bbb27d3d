package redistest

import (
	"strings"
	"testing"
)

func TestServerKillRestart(t *testing.T) {
	s := Start(t)
	if _, err := s.Do("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Do("GET", "k"); err != nil || v != "v" {
		t.Fatalf("GET = %q, %v", v, err)
	}
	s.Kill()
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("PING answered after Kill")
	}
	s.Restart()
	if v, err := s.Do("GET", "k"); err != nil || v != "" {
		t.Fatalf("GET after restart = %q, %v; want empty (nothing kept on disk)", v, err)
	}
}

func TestCluster(t *testing.T) {
	c := StartCluster(t, 3)
	info, err := c.Nodes[1].Do("CLUSTER", "INFO")
	if err != nil || !strings.Contains(info, "cluster_state:ok") {
		t.Fatalf("CLUSTER INFO = %q, %v", info, err)
	}
	if len(c.Addrs()) != 3 {
		t.Fatalf("Addrs = %v", c.Addrs())
	}
}
