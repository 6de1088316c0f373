package probe

import (
	"errors"
	"net/url"
	"strings"
)

// RedactURL is u safe to show and store: a user name and password become
// "REDACTED", and so does every query value, since gateways take keys in
// both (https://user:pass@gateway, ?key=...). Something that does not
// parse as a URL is cut before anything that could hold a secret.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		if i := strings.IndexAny(u, "@?#"); i >= 0 {
			return u[:i] + "[REDACTED]"
		}
		return u
	}
	changed := false
	if p.User != nil {
		// Both parts, whatever was there: a bare user name may be the key.
		p.User, changed = url.UserPassword("REDACTED", "REDACTED"), true
	}
	if p.RawQuery != "" {
		q := p.Query()
		for k := range q {
			q[k] = []string{"REDACTED"}
		}
		p.RawQuery, changed = q.Encode(), true
	}
	if p.Fragment != "" {
		p.Fragment, p.RawFragment, changed = "REDACTED", "", true
	}
	if !changed {
		return u
	}
	return p.String()
}

// urlError unwraps net/http's *url.Error, whose text repeats the URL (with
// its query, and in some paths its user name), to the error beneath.
func urlError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// urlSecrets lists the parts of u that RedactURL hides, raw and decoded,
// so that text which quotes u another way (an error message of a library)
// can be scrubbed of them too.
func urlSecrets(u string) []string {
	p, err := url.Parse(u)
	if err != nil {
		return nil
	}
	var out []string
	add := func(s ...string) {
		for _, x := range s {
			if len(x) >= 3 {
				out = append(out, x)
			}
		}
	}
	if p.User != nil {
		pw, _ := p.User.Password()
		add(p.User.Username(), pw, p.User.String())
	}
	for _, kv := range strings.Split(p.RawQuery, "&") {
		_, v, _ := strings.Cut(kv, "=")
		dv, _ := url.QueryUnescape(v)
		add(v, dv)
	}
	return out
}

// scrub replaces every secret of list found in s.
func scrub(s string, list []string) string {
	for _, x := range list {
		s = strings.ReplaceAll(s, x, "REDACTED")
	}
	return s
}

// scrubURL removes from the verdict's words every part of the base URL
// that can hold a secret, whichever way a failure quoted the URL.
func (v *Verdict) scrubURL(base string) {
	secrets := urlSecrets(base)
	v.Finding.Message, v.Finding.Hint = scrub(v.Finding.Message, secrets), scrub(v.Finding.Hint, secrets)
}
