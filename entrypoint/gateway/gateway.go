package gateway

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sleeve-check/check"
	"sleeve-check/check/probe"
	"sleeve-check/entrypoint/internal/settings"
	"sleeve-check/internal/environ"
	"sleeve-check/internal/outcome"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Gateway is one running gateway.
type Gateway struct {
	s        settings.Settings
	log      zerolog.Logger
	secret   []byte
	cred     check.Credential
	credDesc string
	up       *url.URL
	upDesc   string
	tr       *http.Transport
	led      *ledger
	revoked  *revokedList
	began    time.Time
	ln       net.Listener
	// probeKey is the key of the gateway's own probe: random per run,
	// never derived, never given out.
	probeKey string
	env      environ.Env
	// tlsConfig, when set, is the certificate the gateway serves https with.
	tlsConfig *tls.Config
	rp        http.Handler
	internal  struct {
		once sync.Once
		url  string
		err  error
	}
}

// newGateway is the gateway for the resolved credential res, sent to up;
// env is its environment after the user switch: the proxy and CA settings,
// an inherited socket, and where its probe's claude is found.
func newGateway(c settings.Call, secret []byte, res *check.Resolution, up *url.URL, env environ.Env) *Gateway {
	s := c.Settings()
	g := &Gateway{s: s, log: c.Log, secret: secret, cred: *res.Selected, credDesc: res.Selected.Fingerprint().String(), up: up, upDesc: probe.RedactURL(up.String()),
		led: newLedger(s.GatewayShare.Fraction), revoked: newRevokedList(s.GatewayRevoked, c.Log), began: c.Began,
		probeKey: "scgw-probe." + rand.Text(), env: env}
	g.tr = g.transport()
	return g
}

func (g *Gateway) listen() outcome.Findings {
	var fs outcome.Findings
	if g.s.GatewayTLSCert != "" {
		// Before listening: a bad pair is a setting to fix, said before the
		// gateway claims to serve (and before its probe spends a request).
		pair, err := tls.LoadX509KeyPair(g.s.GatewayTLSCert, g.s.GatewayTLSKey)
		if err != nil {
			fs.Errf(outcome.Config, "gateway_tls", fmt.Sprintf("the gateway's certificate and key (SLEEVE_CHECK_GATEWAY_TLS_CERT, _KEY) cannot be used: %s", err),
				"give a PEM certificate (chain) and its PEM private key")
			return fs
		}
		g.tlsConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	if ln, ok, err := inherited(g.env); ok || err != nil {
		if err != nil {
			fs.Errf(outcome.Config, "gateway_listen", "the gateway cannot use the socket it was given (LISTEN_FDS): "+err.Error(), "")
			return fs
		}
		g.ln = ln
		return nil
	}
	ln, err := net.Listen("tcp", g.s.GatewayListen)
	if err != nil {
		fs.Errf(outcome.Config, "gateway_listen", fmt.Sprintf("the gateway cannot listen on %s (SLEEVE_CHECK_GATEWAY_LISTEN): %s", strconv.Quote(g.s.GatewayListen), errText(err)),
			"choose a free HOST:PORT with --listen")
		return fs
	}
	g.ln = ln
	return nil
}

func errText(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// transport is the gateway's one transport to the API: the system's
// roots plus NODE_EXTRA_CA_CERTS, SSL_CERT_FILE, HTTPS_PROXY and NO_PROXY
// from the gateway's environment (what claude would use), connections
// kept for the fleet's concurrent streams, and no timeout on an answer
// (a long stream is an answer).
func (g *Gateway) transport() *http.Transport {
	tr, warn := probe.NewTransport(probe.HTTPConfig{Proxy: g.env.Proxy(), ExtraCAFile: g.env.Get("NODE_EXTRA_CA_CERTS"), SystemCAFile: g.env.Get("SSL_CERT_FILE")}, g.up.Scheme == "https")
	if warn != "" {
		g.log.Warn().Msg(warn)
	}
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.IdleConnTimeout = 64, 64, 90*time.Second
	return tr
}

// inherited is the listening socket the gateway was given as systemd's
// socket activation gives one (LISTEN_FDS=1, file descriptor 3): the
// Protectorate keeper holds its gateway's port for the keeper's whole
// life, so that a gateway started again is where claude already looks,
// and no other process can take the port in between.
func inherited(env environ.Env) (net.Listener, bool, error) {
	if env.Get("LISTEN_FDS") != "1" {
		return nil, false, nil
	}
	if pid := env.Get("LISTEN_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return nil, false, nil
	}
	f := os.NewFile(3, "listener")
	defer f.Close()
	ln, err := net.FileListener(f)
	return ln, true, err
}
