package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"time"

	"sleeve-check/entrypoint/internal/buildinfo"
	"sleeve-check/entrypoint/internal/fleet"
	"sleeve-check/internal/outcome"
)

// serve answers until ctx ends (SIGTERM, SIGINT), then drains: requests
// in flight (streams) get SLEEVE_CHECK_GATEWAY_DRAIN to end, and the
// gateway exits 0.
func (g *Gateway) serve(ctx context.Context) int {
	srv := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          log.New(io.Discard, "", 0),
		// Requests outlive the run's context: SIGTERM drains them.
		BaseContext: func(net.Listener) context.Context { return context.Background() },
	}
	g.rp = g.proxy()
	served := make(chan error, 1)
	go func() {
		if g.tlsConfig != nil {
			srv.TLSConfig = g.tlsConfig
			served <- srv.ServeTLS(g.ln, "", "")
		} else {
			served <- srv.Serve(g.ln)
		}
	}()
	scheme := "http"
	if g.s.GatewayTLSCert != "" {
		scheme = "https"
	}
	g.log.Info().Str("credential", g.credDesc).Str("upstream", g.upDesc).Msgf("gateway: listening on %s://%s", scheme, g.ln.Addr())
	// The one probe, at once, so that the first sleeves find it done or
	// under way.
	go g.known(context.Background())
	select {
	case err := <-served:
		if errors.Is(err, http.ErrServerClosed) {
			return 0
		}
		g.log.Error().Str("hint", "check --tls-cert and --tls-key").Msg("the gateway stopped serving: " + err.Error())
		return int(outcome.Config)
	case <-ctx.Done():
	}
	g.log.Info().Msgf("gateway: draining (up to %s for the requests in flight)", g.s.GatewayDrain)
	dctx, cancel := context.WithTimeout(context.Background(), g.s.GatewayDrain)
	defer cancel()
	if err := srv.Shutdown(dctx); err != nil {
		srv.Close()
		g.log.Warn().Msgf("gateway: %s passed with requests still in flight; they were closed", g.s.GatewayDrain)
	}
	g.log.Info().Msg("gateway: stopped")
	return 0
}

// ask answers a sleeve's ask: the fleet credential's verdict, probed
// once when nothing fresh is known. A refused key gets the 401 claude's
// own requests would get.
func (g *Gateway) ask(w http.ResponseWriter, r *http.Request) {
	name, why := g.sleeveOf(r)
	if why != "" || name == probeName {
		if why == "" {
			why = "the gateway's probe key does not ask"
		}
		g.led.refused(name, time.Now())
		apiError(w, http.StatusUnauthorized, "authentication_error", why, 0)
		return
	}
	ctx := r.Context()
	if ms, err := strconv.ParseInt(r.Header.Get(fleet.WaitHeader), 10, 64); err == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(min(max(ms, 0), 60_000))*time.Millisecond)
		defer cancel()
	}
	v, from, at := g.known(ctx)
	g.led.asked(name, time.Now())
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(fleet.Answer{Sleeve: name, Kind: g.cred.Kind, Credential: g.credDesc, Verdict: v, Code: v.Finding.Code, From: from, At: at})
}

// statusPage is GET /status: what the gateway knows, and no secret.
func (g *Gateway) statusPage(w http.ResponseWriter) {
	snap := g.led.snapshot()
	snap.Name, snap.StartedAt, snap.Upstream = "sleeve-check "+buildinfo.Version, g.began.UTC(), g.upDesc
	snap.Credential.Kind, snap.Credential.Fingerprint = g.cred.Kind, g.credDesc
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(snap)
}

// ServeHTTP is the gateway: its own routes, Claude Code's, and a 404 in
// the API's shape for everything else.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; r.ContentLength != 0 && !(apiRoutes[p] && r.Method == http.MethodPost) {
		// A body nobody reads: close after the answer, or net/http would
		// first read (with no deadline) what a slow client trickles in.
		w.Header().Set("Connection", "close")
	}
	switch p := r.URL.Path; {
	case p == "/status" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		g.statusPage(w)
	case p == fleet.AskPath && r.Method == http.MethodGet:
		g.ask(w, r)
	case p == "/api/hello" && (r.Method == http.MethodHead || r.Method == http.MethodGet):
		g.hello(w)
	case apiRoutes[p] && r.Method == http.MethodPost:
		g.forward(w, r)
	default:
		apiError(w, http.StatusNotFound, "not_found_error", fmt.Sprintf("the credential gateway serves Claude Code's routes only (POST /v1/messages, POST /v1/messages/count_tokens, HEAD /api/hello); %s %s is not one", r.Method, cleanPath(p)), 0)
	}
}
