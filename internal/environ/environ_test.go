package environ

import (
	"net/http"
	"reflect"
	"testing"
)

func TestSliceKeepsOrderAndReplaces(t *testing.T) {
	e := New([]string{"A=1", "HOME=/root", "B=2", "junk"})
	if e.Get("HOME") != "/root" {
		t.Fatal("lookup")
	}
	if _, ok := e.Lookup("C"); ok {
		t.Fatal("C is unset")
	}
	c := e.Clone()
	c.Set("HOME", "/home/agent")
	c.Set("TOKEN", "x")
	c.Set("HOME", "/home/agent2")
	if got, want := c.Slice(), []string{"A=1", "B=2", "junk", "HOME=/home/agent2", "TOKEN=x"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("slice %q, want %q", got, want)
	}
	if got, want := e.Slice(), []string{"A=1", "HOME=/root", "B=2", "junk"}; !reflect.DeepEqual(got, want) || e.Get("HOME") != "/root" {
		t.Fatalf("the clone changed the original: %q", got)
	}
	if v, ok := New([]string{"E="}).Lookup("E"); !ok || v != "" {
		t.Fatal("set and empty must be told apart from unset")
	}
}

func TestProxyFromTheValue(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		url  string
		want string
	}{
		{map[string]string{"HTTPS_PROXY": "http://proxy:3128"}, "https://api.anthropic.com/v1/messages", "http://proxy:3128"},
		{map[string]string{"https_proxy": "http://lower:3128"}, "https://api.anthropic.com/v1/messages", "http://lower:3128"},
		{map[string]string{"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": ".anthropic.com"}, "https://api.anthropic.com/v1/messages", ""},
		{map[string]string{"HTTPS_PROXY": "http://proxy:3128"}, "https://127.0.0.1:8080/v1/messages", ""},
		{map[string]string{"HTTP_PROXY": "http://proxy:3128"}, "https://api.anthropic.com/", ""},
		{map[string]string{"HTTP_PROXY": "http://proxy:3128", "REQUEST_METHOD": "GET"}, "http://gw.example/", ""},
		{map[string]string{}, "https://api.anthropic.com/", ""},
	} {
		req, _ := http.NewRequest("POST", tt.url, nil)
		u, err := FromMap(tt.env).Proxy()(req)
		got := ""
		if u != nil {
			got = u.String()
		}
		if cgi := tt.env["REQUEST_METHOD"] != ""; cgi != (err != nil) || got != tt.want {
			t.Errorf("%v %s: proxy %q (%v), want %q", tt.env, tt.url, got, err, tt.want)
		}
	}
}

func TestTempDir(t *testing.T) {
	if New(nil).TempDir() != "/tmp" || New([]string{"TMPDIR=/var/tmp"}).TempDir() != "/var/tmp" {
		t.Fatal("TempDir")
	}
}
