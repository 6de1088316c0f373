// Command fake-anthropic serves check/anthropictest's fake Messages API on
// a loopback port, for make demo and the end-to-end scripts.
//
//	fake-anthropic [-addr 127.0.0.1:0] [-in-container] [-url-file F] [-token TOKEN=BEHAVIOR[,retry_after=S][,delay=S][,times=N][,reply=TEXT]]...
//
// It prints its URL on stdout (and into -url-file), then serves until
// SIGINT or SIGTERM. Behaviors can be changed while it runs:
//
//	curl -X POST $URL/_fake/tokens -d '{"token":"...","behavior":"revoked"}'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sleeve-check/check/anthropictest"
)

type tokenFlags []string

func (t *tokenFlags) String() string     { return strings.Join(*t, " ") }
func (t *tokenFlags) Set(v string) error { *t = append(*t, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "fake-anthropic: error: %v\n", err)
		os.Exit(2)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	inContainer := flag.Bool("in-container", false, "allow any -addr: only for the fake in a container on a test's own network (make e2e-protectorate)")
	dnsAddr := flag.String("refuse-dns", "", "also answer DNS on this UDP address, refusing every query at once (with -in-container: a test network with no route out)")
	urlFile := flag.String("url-file", "", "write the URL into this file once listening")
	var tokens tokenFlags
	flag.Var(&tokens, "token", "TOKEN=BEHAVIOR[,retry_after=S][,delay=S][,times=N][,reply=TEXT]; repeatable")
	var unavailable tokenFlags
	flag.Var(&unavailable, "unavailable-model", "a model the API answers 404 for (to every token); repeatable")
	flag.Parse()
	api := anthropictest.New()
	for _, t := range tokens {
		tok, b, err := parseToken(t)
		if err != nil {
			return err
		}
		api.Set(tok, b)
	}
	for _, m := range unavailable {
		api.SetModelUnavailable(m)
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %v", *addr, err)
	}
	if ip := net.ParseIP(host); !*inContainer && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-addr %q is not a loopback address; the fake serves loopback only (or -in-container)", *addr)
	}
	if *dnsAddr != "" && *inContainer {
		if err := refuseDNS(*dnsAddr); err != nil {
			return err
		}
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	url := "http://" + l.Addr().String()
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile, []byte(url+"\n"), 0o644); err != nil {
			return err
		}
	}
	fmt.Println(url)
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func parseToken(s string) (string, anthropictest.Behavior, error) {
	tok, rest, ok := strings.Cut(s, "=")
	if !ok || tok == "" {
		return "", anthropictest.Behavior{}, fmt.Errorf("-token %q: want TOKEN=BEHAVIOR", s)
	}
	parts := strings.Split(rest, ",")
	b := anthropictest.Behavior{Kind: anthropictest.Kind(parts[0])}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "retry_after", "delay", "reset_in":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return "", b, fmt.Errorf("-token: %s=%q is not a number of seconds", k, v)
			}
			d := time.Duration(f * float64(time.Second))
			switch k {
			case "delay":
				b.Delay = d
			case "reset_in":
				b.ResetIn = d
			default:
				b.RetryAfter = d
			}
		case "times":
			n, err := strconv.Atoi(v)
			if err != nil {
				return "", b, fmt.Errorf("-token: times=%q is not a number", v)
			}
			b.Times = n
		case "reply":
			b.Reply = v
		case "location":
			b.Location = v
		default:
			return "", b, fmt.Errorf("-token: unknown option %q", k)
		}
	}
	return tok, b, nil
}

// refuseDNS answers every DNS query on addr with REFUSED, at once. On a
// test network with no route out, a name outside it then fails in
// microseconds instead of after the resolver's 20 s of timeouts.
func refuseDNS(addr string) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			// The query back, as a response (QR), with RCODE 5 (REFUSED),
			// no answer, authority or additional records.
			buf[2] |= 0x80
			buf[3] = buf[3]&0xf0 | 5
			for i := 6; i < 12; i++ {
				buf[i] = 0
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	return nil
}
