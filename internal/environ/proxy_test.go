package environ

import (
	"fmt"
	"net/http"
	"testing"

	"golang.org/x/net/http/httpproxy"
)

// Proxy answers as golang.org/x/net/http/httpproxy (net/http's rules) for
// every combination of proxies, NO_PROXY entries and request URLs here:
// the rules are written out rather than linked, and this holds them to
// the original. (Host names in ASCII: see Proxy.)
func TestProxyAsHTTPProxy(t *testing.T) {
	proxies := []string{"", "http://proxy:3128", "proxy:3128", "https://user:pw@secure-proxy", "socks5://s:1080", "::bad::", "%zz"}
	noProxies := []string{"", "*", "example.com", ".example.com", "*.example.com", "EXAMPLE.com:443", "example.com:80",
		"10.0.0.0/8", "10.1.2.3", "10.1.2.3:443", "[::1]:8443", "::2", "2001:db8::/32", "[2001:db8::5]", ":443", "a.b,  ,c.d:8080, 192.168.0.0/16",
		"*foo.com", ".", "localhost", "sub.example.com,other.org:443", "fe80::/10", "fe80::1"}
	urls := []string{"https://example.com/v1", "https://api.example.com/v1", "https://example.com:8443/", "http://example.com/",
		"https://EXAMPLE.COM/", "https://notexample.com/", "https://10.1.2.3/", "https://10.1.2.3:8443/", "https://10.9.9.9/",
		"https://[2001:db8::5]/", "https://[::2]:443/", "https://127.0.0.1:9000/", "https://localhost/", "https://[::1]/",
		"http://gw.internal:8090/", "https://c.d:8080/", "https://x.c.d/", "https://192.168.3.4/", "https://foo.com/", "https://xfoo.com/",
		"https://other.org/", "ftp://example.com/", "https://a.b/", "https://sub.example.com/",
		"https://[::1%25lo]:8443/", "https://[fe80::1%25eth0]/", "https://a]b/", "https://[fe80::1]:443/"}
	n := 0
	for _, hp := range proxies {
		for _, hsp := range proxies {
			for _, np := range noProxies {
				for _, cgi := range []bool{false, true} {
					env := map[string]string{"HTTP_PROXY": hp, "HTTPS_PROXY": hsp, "NO_PROXY": np}
					if cgi {
						env["REQUEST_METHOD"] = "GET"
					}
					ours := FromMap(env).Proxy()
					theirs := (&httpproxy.Config{HTTPProxy: hp, HTTPSProxy: hsp, NoProxy: np, CGI: cgi}).ProxyFunc()
					for _, u := range urls {
						req, err := http.NewRequest("GET", u, nil)
						if err != nil {
							t.Fatal(err)
						}
						got, gerr := ours(req)
						want, werr := theirs(req.URL)
						if fmt.Sprint(got) != fmt.Sprint(want) || (gerr == nil) != (werr == nil) {
							t.Errorf("HTTP_PROXY=%q HTTPS_PROXY=%q NO_PROXY=%q cgi=%v %s: got %v (%v), httpproxy %v (%v)", hp, hsp, np, cgi, u, got, gerr, want, werr)
						}
						n++
					}
				}
			}
		}
	}
	t.Logf("%d cases", n)
}
