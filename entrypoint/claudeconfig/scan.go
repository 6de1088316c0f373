package claudeconfig

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// maxScannedValue bounds a value topLevel keeps; the flags health reads
// are a few bytes.
const maxScannedValue = 1 << 20

// topLevel reads the values of the named top-level keys of the JSON object
// in path, skipping everything else without keeping it: health reads one
// flag from a .claude.json that can grow to tens of MB, at the cost of one
// pass and a 64 KiB buffer. A missing file gives an empty map. It checks
// only as much syntax as it needs to find the keys.
func TopLevel(path string, keys ...string) (map[string]json.RawMessage, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return map[string]json.RawMessage{}, nil
	}
	defer f.Close()
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	sc := &scanner{r: bufio.NewReaderSize(f, 64<<10)}
	return sc.object(want)
}

type scanner struct {
	r   *bufio.Reader
	off int64
	buf []byte // the value being kept, or nil
}

func (s *scanner) errorf(msg string) error {
	return fmt.Errorf("invalid JSON at byte %d: %s", s.off, msg)
}

func (s *scanner) next() (byte, error) {
	c, err := s.r.ReadByte()
	if err == io.EOF {
		return 0, s.errorf("unexpected end")
	}
	if err != nil {
		return 0, err
	}
	s.off++
	if s.buf != nil {
		if len(s.buf) >= maxScannedValue {
			return 0, s.errorf("value too large")
		}
		s.buf = append(s.buf, c)
	}
	return c, nil
}

// nonSpace returns the next byte that is not JSON whitespace.
func (s *scanner) nonSpace() (byte, error) {
	for {
		c, err := s.next()
		if err != nil || (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			return c, err
		}
	}
}

func (s *scanner) object(want map[string]bool) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	c, err := s.nonSpace()
	if err != nil {
		return nil, err
	}
	if c != '{' {
		return nil, s.errorf("not a JSON object")
	}
	for first := true; ; first = false {
		c, err := s.nonSpace()
		if err != nil {
			return nil, err
		}
		if c == '}' && first {
			return out, nil
		}
		if c != '"' {
			return nil, s.errorf("expected a key")
		}
		key, c, err := s.key()
		if err != nil {
			return nil, err
		}
		if want[key] {
			s.buf = []byte{c}
		}
		c, err = s.skipValue(c)
		if err != nil {
			return nil, err
		}
		if want[key] {
			// skipValue read one byte past a number or literal.
			v := s.buf
			if c != 0 {
				v = v[:len(v)-1]
			}
			out[key] = json.RawMessage(append([]byte(nil), v...))
			s.buf = nil
		}
		if c == 0 || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			if c, err = s.nonSpace(); err != nil {
				return nil, err
			}
		}
		switch c {
		case ',':
		case '}':
			return out, nil
		default:
			return nil, s.errorf("expected ',' or '}'")
		}
	}
}

// key reads an object key after its opening quote, the colon after it,
// and returns the key and the first byte of its value.
func (s *scanner) key() (string, byte, error) {
	s.buf = []byte{'"'}
	if err := s.skipString(); err != nil {
		return "", 0, err
	}
	var key string
	if err := json.Unmarshal(s.buf, &key); err != nil {
		return "", 0, s.errorf("bad key")
	}
	s.buf = nil
	if c, err := s.nonSpace(); err != nil || c != ':' {
		return "", 0, s.errorf("expected ':'")
	}
	c, err := s.nonSpace()
	return key, c, err
}

// skipString reads up to and including the closing quote.
func (s *scanner) skipString() error {
	for {
		c, err := s.next()
		if err != nil {
			return err
		}
		switch c {
		case '"':
			return nil
		case '\\':
			if _, err := s.next(); err != nil {
				return err
			}
		}
	}
}

// skipValue skips the value that starts with c. For a number or literal
// it has to read the byte after it, which it returns; otherwise 0.
func (s *scanner) skipValue(c byte) (byte, error) {
	switch c {
	case '"':
		return 0, s.skipString()
	case '{', '[':
		depth := 1
		for depth > 0 {
			c, err := s.next()
			if err != nil {
				return 0, err
			}
			switch c {
			case '"':
				if err := s.skipString(); err != nil {
					return 0, err
				}
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
		}
		return 0, nil
	}
	for {
		c, err := s.next()
		if err != nil {
			return 0, err
		}
		switch c {
		case ',', '}', ' ', '\t', '\n', '\r':
			return c, nil
		case ']', '{', '[', '"', ':':
			return 0, s.errorf("unexpected " + strconv.QuoteRune(rune(c)))
		}
	}
}
