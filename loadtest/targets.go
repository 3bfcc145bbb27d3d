package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// parseTargets checks every target: an http(s) URL of a loopback host, or
// of a host that -allow-remote names explicitly (host or host:port). The
// load tester never aims at anything else.
func parseTargets(list, allowRemote string) ([]*url.URL, error) {
	allowed := map[string]bool{}
	for a := range strings.SplitSeq(allowRemote, ",") {
		if a = strings.TrimSpace(a); a != "" {
			allowed[strings.ToLower(a)] = true
		}
	}
	var out []*url.URL
	for t := range strings.SplitSeq(list, ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		u, err := url.Parse(t)
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", t, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, fmt.Errorf("target %q: use http://host:port or https://host:port", t)
		}
		if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, fmt.Errorf("target %q: give only scheme, host and port, like http://127.0.0.1:8080", t)
		}
		host := u.Hostname()
		if !isLoopback(host) && !allowed[strings.ToLower(host)] && !allowed[strings.ToLower(u.Host)] {
			return nil, fmt.Errorf("target %q is not a loopback address; the load tester only aims elsewhere when -allow-remote names it (-allow-remote %s)", t, u.Host)
		}
		u.Path = ""
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-targets is required (e.g. -targets http://127.0.0.1:8080)")
	}
	return out, nil
}

// isLoopback accepts loopback IPs and the name localhost, without asking
// any resolver (a resolver could map a name anywhere).
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// wsURL is the WebSocket URL of a target.
func wsURL(u *url.URL) string {
	scheme := "ws"
	if u.Scheme == "https" {
		scheme = "wss"
	}
	return scheme + "://" + u.Host + "/ws"
}
