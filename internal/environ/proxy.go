package environ

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Proxy picks the proxy for a request as http.ProxyFromEnvironment does,
// from this environment instead of the process's: HTTPS_PROXY for https,
// HTTP_PROXY for http (upper case first, then lower; not in a CGI
// environment, REQUEST_METHOD set), none for localhost, a loopback
// address or a host NO_PROXY names. A proxy given as host[:port] is
// http://host[:port]. NO_PROXY is a comma-separated list of "*" (no
// proxy at all), IP addresses and CIDR prefixes, and domain names, each
// with an optional :port; a domain name matches itself and its
// subdomains, one with a leading "." (or "*.") its subdomains only.
//
// These are net/http's rules (golang.org/x/net/http/httpproxy, which
// net/http only applies to the process's environment), written out here
// rather than linked: the package and the IDNA and Unicode tables it
// brings weighed 196 KB of a binary that every start loads. Host names
// are compared as written, without IDNA: a NO_PROXY entry or a request's
// host in Unicode (or in full-width letters) does not match its ASCII
// form, as it does in httpproxy. The test holds the rest to httpproxy's
// answers.
func (e Env) Proxy() func(*http.Request) (*url.URL, error) {
	httpProxy := parseProxy(e.either("HTTP_PROXY", "http_proxy"))
	httpsProxy := parseProxy(e.either("HTTPS_PROXY", "https_proxy"))
	cgi := e.Get("REQUEST_METHOD") != ""
	no := parseNoProxy(e.either("NO_PROXY", "no_proxy"))
	return func(r *http.Request) (*url.URL, error) {
		var proxy *url.URL
		switch r.URL.Scheme {
		case "https":
			proxy = httpsProxy
		case "http":
			proxy = httpProxy
			if proxy != nil && cgi {
				// A CGI request's Proxy header would be HTTP_PROXY (httpoxy).
				return nil, errors.New("refusing to use HTTP_PROXY value in CGI environment; see golang.org/s/cgihttpproxy")
			}
		}
		if proxy == nil || !no.useProxy(r.URL) {
			return nil, nil
		}
		return proxy, nil
	}
}

// parseProxy is a proxy setting's URL, or nil (unset or unparsable).
func parseProxy(v string) *url.URL {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		if withScheme, err2 := url.Parse("http://" + v); err2 == nil {
			return withScheme
		}
	}
	if err != nil {
		return nil
	}
	return u
}

// noProxy is a parsed NO_PROXY.
type noProxy struct {
	all     bool
	nets    []*net.IPNet
	ips     []hostPort[net.IP]
	domains []hostPort[string] // ".example.com"; whole: example.com itself matches too
}

type hostPort[T any] struct {
	host  T
	port  string
	whole bool
}

func parseNoProxy(v string) noProxy {
	var n noProxy
	for _, p := range strings.Split(v, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		if p == "*" {
			return noProxy{all: true}
		}
		if _, cidr, err := net.ParseCIDR(p); err == nil {
			n.nets = append(n.nets, cidr)
			continue
		}
		host, port, err := net.SplitHostPort(p)
		if err != nil {
			host, port = p, ""
		} else if host == "" {
			continue
		} else if host[0] == '[' && host[len(host)-1] == ']' {
			host = host[1 : len(host)-1]
		}
		if ip := net.ParseIP(host); ip != nil {
			n.ips = append(n.ips, hostPort[net.IP]{host: ip, port: port})
			continue
		}
		if host == "" {
			continue
		}
		if strings.HasPrefix(host, "*.") {
			host = host[1:]
		}
		whole := host[0] != '.'
		if whole {
			host = "." + host
		}
		n.domains = append(n.domains, hostPort[string]{host: host, port: port, whole: whole})
	}
	return n
}

// useProxy tells whether a request to u goes through the proxy.
func (n noProxy) useProxy(u *url.URL) bool {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	// As httpproxy: a host that does not survive joining and splitting
	// again (such as "a]b") gets no proxy.
	host, port, err := net.SplitHostPort(net.JoinHostPort(u.Hostname(), port))
	if err != nil || host == "localhost" {
		return false
	}
	var ip net.IP
	if a, err := netip.ParseAddr(host); err == nil { // an IPv6 zone (fe80::1%eth0) too
		ip = net.IP(a.AsSlice())
		if ip.IsLoopback() {
			return false
		}
	}
	if n.all {
		return false
	}
	host = strings.ToLower(strings.TrimSpace(host))
	if ip != nil {
		for _, c := range n.nets {
			if c.Contains(ip) {
				return false
			}
		}
		for _, m := range n.ips {
			if m.host.Equal(ip) && (m.port == "" || m.port == port) {
				return false
			}
		}
		return true
	}
	for _, m := range n.domains {
		if (strings.HasSuffix(host, m.host) || (m.whole && host == m.host[1:])) && (m.port == "" || m.port == port) {
			return false
		}
	}
	return true
}
