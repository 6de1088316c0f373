package gateway

import (
	"bytes"
	"io"
	"net/http"
)

// bodyEnd calls end once the body has been read to its end or closed.
type bodyEnd struct {
	io.ReadCloser
	end   func()
	ended bool
}

// maxErrorBody is how much of an error answer is kept to judge it.
const maxErrorBody = 64 << 10

// tee keeps the first bytes of a body as it is read, and hands them to
// end when the body ends.
type tee struct {
	io.ReadCloser
	buf   bytes.Buffer
	end   func([]byte)
	ended bool
}

func (b *bodyEnd) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !b.ended {
		b.ended = true
		b.end()
	}
	return n, err
}

func (b *bodyEnd) Close() error {
	if !b.ended {
		b.ended = true
		b.end()
	}
	return b.ReadCloser.Close()
}

func (t *tee) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if room := maxErrorBody - t.buf.Len(); room > 0 {
		t.buf.Write(p[:min(n, room)])
	}
	if err != nil {
		t.finish()
	}
	return n, err
}

func (t *tee) Close() error {
	t.finish()
	return t.ReadCloser.Close()
}

func (t *tee) finish() {
	if !t.ended {
		t.ended = true
		t.end(t.buf.Bytes())
	}
}

// recorder keeps the status an answer was given.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController flush through the recorder.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
