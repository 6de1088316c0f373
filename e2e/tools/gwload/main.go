// Command gwload is make bench-gateway's load: an upstream that plays the
// Messages API on loopback, and the client that measures what a proxy in
// front of it adds (e2e/bench-gateway.sh runs it).
//
//	gwload upstream -key FLEETKEY -url-file F
//	gwload latency [-n 2000] [-streams 1000] -direct URL -direct-key K -key K NAME=URL...
//	gwload hold [-c 12] -keys FILE [-watch PID,...] URL
//	gwload port
//
// upstream answers POST /v1/messages (and count_tokens) only for
// x-api-key FLEETKEY (else 401, so a proxy that does not put the fleet
// credential in fails the run): a small JSON message, or with "stream":
// true a server-sent event stream whose first event (message_start) goes
// out at once, then x-gwload-events content_block_delta events (10) each
// x-gwload-gap after the last (1ms), then message_delta and message_stop.
// HEAD or GET /api/hello gets 200.
//
// latency measures the paths side by side: each round sends one request
// down every path in turn (the order rotated each round, after warm-up
// rounds), so that the machine's noise falls on all of them alike. First
// -n rounds of a small request that is not streamed (the time until the
// whole answer is read), then -streams rounds of a streamed one (the
// time until its first event is read; the rest is read to the end). The
// output is one tab-separated line per kind and path: kind, path,
// requests, median_us, p99_us, added_median_us (the median over rounds of
// the path's time minus direct's in the same round), added_p99_us (the
// path's p99 minus direct's p99).
//
// hold opens -c streams at once through URL, one per key of -keys (one a
// line, a sleeve each), each -hold long; once every one has its first
// event it samples the resident memory of the -watch processes (summed)
// every 20 ms until the streams end, then reads their peaks. The output
// is one tab-separated line: streams, events read, the highest VmRSS
// sampled (KiB, summed), the sum of VmHWM (KiB), the largest one VmHWM
// (KiB).
//
// port prints a loopback TCP port that was free a moment ago (for nginx).
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "upstream":
		err = upstream(os.Args[2:])
	case "latency":
		err = latency(os.Args[2:])
	case "hold":
		err = hold(os.Args[2:])
	case "port":
		err = freePort()
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gwload %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gwload upstream|latency|hold|port [flags] (see the package comment)")
	os.Exit(2)
}

// The upstream's answers: what the API sends, at about its sizes.
const (
	messageJSON  = `{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[{"type":"text","text":"pong"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":8,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":4,"service_tier":"standard"}}`
	eventStart   = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5-20251001\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":8,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1,\"service_tier\":\"standard\"}}}\n\n" + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	eventDelta   = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a few words of the answer \"}}\n\n"
	eventEnd     = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" + "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":12}}\n\n" + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	eventsBefore = 2 // events in eventStart
	eventsAfter  = 3 // events in eventEnd
)

func upstream(args []string) error {
	fs := flag.NewFlagSet("upstream", flag.ExitOnError)
	key := fs.String("key", "", "the only x-api-key answered")
	urlFile := fs.String("url-file", "", "write the URL here once listening")
	fs.Parse(args)
	if *key == "" {
		return errors.New("-key is needed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile+".tmp", []byte(url+"\n"), 0o644); err != nil {
			return err
		}
		if err := os.Rename(*urlFile+".tmp", *urlFile); err != nil {
			return err
		}
	}
	fmt.Println(url)
	srv := &http.Server{Handler: &api{key: *key}, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type api struct{ key string }

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	switch {
	case r.URL.Path == "/api/hello" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return
	case r.Method != http.MethodPost || (r.URL.Path != "/v1/messages" && r.URL.Path != "/v1/messages/count_tokens"):
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"type":"error","error":{"type":"not_found_error","message":"Not found"}}`)
		return
	case r.Header.Get("X-Api-Key") != a.key:
		io.Copy(io.Discard, r.Body)
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	h.Set("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy")
	h.Set("anthropic-organization-id", "00000000-0000-4000-8000-000000000000")
	h.Set("anthropic-ratelimit-requests-limit", "4000")
	h.Set("anthropic-ratelimit-requests-remaining", "3999")
	h.Set("anthropic-ratelimit-requests-reset", "2026-01-01T00:00:01Z")
	if r.URL.Path == "/v1/messages/count_tokens" {
		h.Set("Content-Type", "application/json")
		io.WriteString(w, `{"input_tokens":8}`)
		return
	}
	if !bytes.Contains(body, []byte(`"stream":true`)) {
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(messageJSON)))
		io.WriteString(w, messageJSON)
		return
	}
	events, gap := 10, time.Millisecond
	if v, err := strconv.Atoi(r.Header.Get("X-Gwload-Events")); err == nil && v >= 0 {
		events = v
	}
	if v, err := time.ParseDuration(r.Header.Get("X-Gwload-Gap")); err == nil && v >= 0 {
		gap = v
	}
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	io.WriteString(w, eventStart)
	if rc.Flush() != nil {
		return
	}
	for range events {
		if gap > 0 {
			time.Sleep(gap)
		}
		io.WriteString(w, eventDelta)
		if rc.Flush() != nil {
			return
		}
	}
	io.WriteString(w, eventEnd)
}

// client is every path's: keep-alive, no compression (the proxies would
// pass Accept-Encoding on, and the upstream does not compress).
func client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        100,
		MaxIdleConnsPerHost: 100,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}}
}

const (
	smallBody  = `{"model":"claude-haiku-4-5-20251001","max_tokens":16,"messages":[{"role":"user","content":[{"type":"text","text":"ping"}]}]}`
	streamBody = `{"model":"claude-haiku-4-5-20251001","max_tokens":16,"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"ping"}]}]}`
)

func newRequest(ctx context.Context, base, key string, stream bool, events int, gap time.Duration) *http.Request {
	body := smallBody
	if stream {
		body = streamBody
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/v1/messages", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("User-Agent", "gwload/1")
	req.Header.Set("X-Api-Key", key)
	if stream {
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("X-Gwload-Events", strconv.Itoa(events))
		req.Header.Set("X-Gwload-Gap", gap.String())
	}
	return req
}

// small sends one request that is not streamed and reads its answer: the
// time until the whole answer is read.
func small(c *http.Client, base, key string) (time.Duration, error) {
	req := newRequest(context.Background(), base, key, false, 0, 0)
	t := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK || len(b) != len(messageJSON) {
		return 0, fmt.Errorf("%s answered %d: %.200s", base, resp.StatusCode, b)
	}
	return d, nil
}

// stream sends one streamed request: the time until its first event is
// read, and the number of events; first (if not nil) is told when the
// first event has come.
func stream(ctx context.Context, c *http.Client, base, key string, events int, gap time.Duration, first func()) (time.Duration, int, error) {
	req := newRequest(ctx, base, key, true, events, gap)
	t := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		return 0, 0, fmt.Errorf("%s answered %d: %.200s", base, resp.StatusCode, b)
	}
	br := bufio.NewReader(resp.Body)
	var ttfe time.Duration
	n, data := 0, false
	for {
		line, err := br.ReadSlice('\n')
		if err == io.EOF && len(line) == 0 {
			break
		}
		if err != nil {
			return 0, n, fmt.Errorf("%s: after %d events: %v", base, n, err)
		}
		if len(line) == 1 && data { // the blank line that ends an event
			n++
			data = false
			if n == 1 {
				ttfe = time.Since(t)
				if first != nil {
					first()
				}
			}
		} else if bytes.HasPrefix(line, []byte("data:")) {
			data = true
		}
	}
	if want := eventsBefore + events + eventsAfter; n != want {
		return 0, n, fmt.Errorf("%s: %d events, want %d", base, n, want)
	}
	return ttfe, n, nil
}

type path struct{ name, url, key string }

func latency(args []string) error {
	fs := flag.NewFlagSet("latency", flag.ExitOnError)
	n := fs.Int("n", 2000, "rounds of the small request")
	ns := fs.Int("streams", 1000, "rounds of the streamed request")
	warm := fs.Int("warmup", 100, "rounds run first and not measured, of each kind")
	events := fs.Int("events", 10, "events of a stream after the first (content_block_delta)")
	gap := fs.Duration("gap", time.Millisecond, "the time between a stream's events after the first")
	direct := fs.String("direct", "", "the upstream's URL")
	directKey := fs.String("direct-key", "", "the key sent to the upstream directly (the fleet's)")
	key := fs.String("key", "", "the key sent through the proxies (a sleeve's)")
	fs.Parse(args)
	if *direct == "" || *directKey == "" || *key == "" || fs.NArg() == 0 {
		return errors.New("-direct, -direct-key, -key and at least one NAME=URL are needed")
	}
	paths := []path{{"direct", *direct, *directKey}}
	for _, a := range fs.Args() {
		name, url, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("%q is not NAME=URL", a)
		}
		paths = append(paths, path{name, url, *key})
	}
	c := client()
	ctx := context.Background()
	kinds := []struct {
		name   string
		rounds int
		one    func(p path) (time.Duration, error)
	}{
		{"small", *n, func(p path) (time.Duration, error) { return small(c, p.url, p.key) }},
		{"stream", *ns, func(p path) (time.Duration, error) {
			d, _, err := stream(ctx, c, p.url, p.key, *events, *gap, nil)
			return d, err
		}},
	}
	for _, k := range kinds {
		times := make([][]float64, len(paths))
		for r := 0; r < *warm+k.rounds; r++ {
			for j := range paths {
				i := (j + r) % len(paths)
				d, err := k.one(paths[i])
				if err != nil {
					return fmt.Errorf("%s, %s: %v", k.name, paths[i].name, err)
				}
				if r >= *warm {
					times[i] = append(times[i], float64(d.Nanoseconds())/1000)
				}
			}
		}
		for i, p := range paths {
			diff := make([]float64, len(times[i]))
			for j := range diff {
				diff[j] = times[i][j] - times[0][j]
			}
			fmt.Printf("%s\t%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\n", k.name, p.name, len(times[i]), quantile(times[i], .5), quantile(times[i], .99),
				quantile(diff, .5), quantile(times[i], .99)-quantile(times[0], .99))
		}
	}
	return nil
}

func hold(args []string) error {
	fs := flag.NewFlagSet("hold", flag.ExitOnError)
	conc := fs.Int("c", 12, "streams open at once")
	keysFile := fs.String("keys", "", "a file of keys, one a line: stream i sends key i")
	events := fs.Int("events", 300, "events of each stream after the first")
	gap := fs.Duration("gap", 10*time.Millisecond, "the time between a stream's events")
	watch := fs.String("watch", "", "PIDs whose memory is read, comma-separated")
	fs.Parse(args)
	if fs.NArg() != 1 || *keysFile == "" {
		return errors.New("-keys and one URL are needed")
	}
	b, err := os.ReadFile(*keysFile)
	if err != nil {
		return err
	}
	keys := strings.Fields(string(b))
	if len(keys) < *conc {
		return fmt.Errorf("%s has %d keys, %d needed", *keysFile, len(keys), *conc)
	}
	var pids []int
	for _, f := range strings.FieldsFunc(*watch, func(r rune) bool { return r == ',' }) {
		p, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("-watch: %q is not a PID", f)
		}
		pids = append(pids, p)
	}
	allOpen, ended, result := streams(fs.Arg(0), keys[:*conc], *events, *gap)
	<-allOpen
	peak := sampleRSS(pids, ended)
	total, err := result()
	if err != nil {
		return err
	}
	var hwm, hwmMax int64
	for _, p := range pids {
		v := statusKiB(p, "VmHWM")
		hwm += v
		hwmMax = max(hwmMax, v)
	}
	fmt.Printf("%d\t%d\t%d\t%d\t%d\n", *conc, total, peak, hwm, hwmMax)
	return nil
}

// streams opens one stream per key at once: allOpen is closed when every
// one has had its first event (or failed), ended when all have ended;
// result then gives the events read in all, or the streams' errors.
func streams(url string, keys []string, events int, gap time.Duration) (allOpen, ended <-chan struct{}, result func() (int, error)) {
	c := client()
	var wg, opened sync.WaitGroup
	errs := make([]error, len(keys))
	counts := make([]int, len(keys))
	opened.Add(len(keys))
	for i, key := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var once sync.Once
			_, counts[i], errs[i] = stream(context.Background(), c, url, key, events, gap, func() { once.Do(opened.Done) })
			once.Do(opened.Done)
		}()
	}
	open, end := make(chan struct{}), make(chan struct{})
	go func() { opened.Wait(); close(open) }()
	go func() { wg.Wait(); close(end) }()
	return open, end, func() (int, error) {
		<-end
		total := 0
		for _, n := range counts {
			total += n
		}
		return total, errors.Join(errs...)
	}
}

// sampleRSS is the highest sum of the pids' VmRSS (KiB), read every 20 ms
// until ended.
func sampleRSS(pids []int, ended <-chan struct{}) int64 {
	var peak int64
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var sum int64
		for _, p := range pids {
			sum += statusKiB(p, "VmRSS")
		}
		peak = max(peak, sum)
		select {
		case <-ended:
			return peak
		case <-tick.C:
		}
	}
}

func freePort() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	return nil
}

// statusKiB is the field of /proc/PID/status, in KiB (0 when unread).
func statusKiB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

func quantile(x []float64, q float64) float64 {
	y := slices.Clone(x)
	slices.Sort(y)
	return y[int(q*float64(len(y)-1)+0.5)]
}
