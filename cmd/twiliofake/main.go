// Command twiliofake runs the fake Twilio Messages and Calls API
// (notify/twiliofake) on an address, so an operator can try the whole SMS
// and call flow of hubd without a Twilio account: it prints the settings to
// start hubd with, logs every SMS and call it "sends", and posts signed
// delivery callbacks to the hub. Two control routes, outside Twilio's API,
// play the phones: POST /_fake/sms (form from, body: an SMS a phone sends
// to the hub) and POST /_fake/press (form call, digits: a key pressed
// during a call); both post the signed webhook to -hub-url and print its
// answer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/longyou/hub/internal/flagenv"
	"github.com/longyou/hub/notify/twiliofake"
)

type config struct {
	addr, accountSID, authToken, from string
	hubURL                            string
	autoDeliver                       time.Duration
}

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "twiliofake:", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "twiliofake:", err)
		os.Exit(1)
	}
}

func parseConfig(args []string, getenv func(string) string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("twiliofake", flag.ContinueOnError)
	str := func(p *string, name, env, def, usage string) {
		flagenv.String(fs, getenv, p, name, env, def, usage)
	}
	str(&c.addr, "addr", "TWILIOFAKE_ADDR", "127.0.0.1:8089", "listen address (port 0: any free port)")
	str(&c.accountSID, "account-sid", "TWILIOFAKE_ACCOUNT_SID", "AC00000000000000000000000000000000", "account SID the fake accepts")
	str(&c.authToken, "auth-token", "TWILIOFAKE_AUTH_TOKEN", "fakeauthtoken0000000000000000000", "auth token the fake accepts and signs callbacks with")
	str(&c.from, "from", "TWILIOFAKE_FROM", "+15005550006", "sender number to suggest for TWILIO_FROM")
	str(&c.hubURL, "hub-url", "TWILIOFAKE_HUB_URL", "http://127.0.0.1:8080", "the hub's public URL, for /_fake/sms")
	auto := "2s"
	str(&auto, "auto-deliver", "TWILIOFAKE_AUTO_DELIVER", auto, "mark each SMS sent, then delivered, this long after it was accepted (0: never)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	d, err := time.ParseDuration(auto)
	if err != nil || d < 0 {
		return nil, fmt.Errorf("-auto-deliver %q: want a duration such as 2s", auto)
	}
	c.autoDeliver = d
	return c, nil
}

func run(cfg *config) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	fake := twiliofake.New(cfg.accountSID, cfg.authToken)
	defer fake.Close()
	fake.SetLogger(log)
	fake.AutoDeliver(cfg.autoDeliver)

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	apiURL := "http://" + ln.Addr().String()
	fmt.Printf("twiliofake: fake Twilio Messages API on %s (auto-deliver %s)\n", apiURL, cfg.autoDeliver)
	fmt.Printf("Start hubd with:\n\n  TWILIO_API_URL=%s TWILIO_ACCOUNT_SID=%s TWILIO_AUTH_TOKEN=%s TWILIO_FROM=%s hubd\n\n",
		apiURL, cfg.accountSID, cfg.authToken, cfg.from)
	fmt.Printf("Delivery callbacks go to the hub's -public-url + /webhooks/twilio/status.\n")

	fmt.Printf("Phones: curl -d from=+8613800000001 -d body=3 %s/_fake/sms ; curl -d call=CA... -d digits=2 %s/_fake/press\n",
		apiURL, apiURL)

	srv := &http.Server{Handler: controls(fake, cfg), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fake.Close() // releases held requests so Shutdown need not wait for them
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// controls serves the fake's API and the two control routes that play the
// phones (see the package comment).
func controls(fake *twiliofake.Server, cfg *config) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", fake)
	answer := func(w http.ResponseWriter, code int, body string, err error) {
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "hub answered %d\n%s\n", code, body)
	}
	mux.HandleFunc("POST /_fake/sms", func(w http.ResponseWriter, r *http.Request) {
		code, body, err := fake.InboundSMS(r.Context(), strings.TrimRight(cfg.hubURL, "/")+"/webhooks/twilio/sms", "",
			r.FormValue("from"), cfg.from, r.FormValue("body"))
		answer(w, code, body, err)
	})
	mux.HandleFunc("POST /_fake/press", func(w http.ResponseWriter, r *http.Request) {
		code, body, err := fake.PressDigit(r.Context(), r.FormValue("call"), r.FormValue("digits"))
		answer(w, code, body, err)
	})
	return mux
}
