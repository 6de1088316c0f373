package probe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseAPIError(f *testing.F) {
	f.Add([]byte(`{"type":"error","error":{"type":"authentication_error","message":"OAuth token has expired."},"request_id":"req_1"}`))
	f.Add([]byte(`<html><head><title>502</title></head></html>`))
	f.Add([]byte("\xff\x00{"))
	f.Add([]byte(`{"error":{"type":"x","message":"sk-ant-oat01-abcdefghijklmnop"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e := ParseAPIError(body)
		for _, s := range []string{e.Type, e.Message, e.RequestID} {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\n\r\x00") || len(s) > maxShownMessage+40 {
				t.Fatalf("unprintable or long field %q", s)
			}
			if strings.Contains(s, "sk-ant-") && !strings.Contains(s, "[redacted]") {
				t.Fatalf("credential-shaped text not redacted: %q", s)
			}
		}
	})
}
