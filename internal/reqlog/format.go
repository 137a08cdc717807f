package reqlog

import (
	"log/slog"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// The functions below write what log/slog's TextHandler and JSONHandler
// write for a record without groups, ReplaceAttr or source; they are
// adapted from log/slog (handler.go, text_handler.go, json_handler.go,
// Go 1.26), and TestLineMatchesSlog and FuzzLine hold them to it.

// appendText appends r's line as slog's TextHandler writes it.
func appendText(b []byte, t time.Time, level slog.Level, r *Request) []byte {
	if !t.IsZero() {
		b = append(b, "time="...)
		b = appendRFC3339Millis(b, t.Round(0))
		b = append(b, ' ')
	}
	b = append(b, "level="...)
	b = appendTextString(b, level.String())
	b = append(b, " msg="+Message+" method="...)
	b = appendTextString(b, r.Method)
	b = append(b, " path="...)
	b = appendTextString(b, r.Path)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, " duration="...)
	b = append(b, r.Duration.String()...) // unquoted, as slog writes a Duration
	b = append(b, " remote="...)
	b = appendTextString(b, r.Remote)
	if r.MAC != "" {
		b = append(b, " mac="...)
		b = appendTextString(b, r.MAC)
	}
	if r.Group != "" {
		b = append(b, " group="...)
		b = appendTextString(b, r.Group)
		b = append(b, " profile="...)
		b = appendTextString(b, r.Profile)
	}
	if r.Err != nil {
		b = append(b, " err="...)
		b = appendTextString(b, r.Err.Error())
	}
	return append(b, '\n')
}

// appendJSON appends r's line as slog's JSONHandler writes it; t's year
// is within 0-9999.
func appendJSON(b []byte, t time.Time, level slog.Level, r *Request) []byte {
	b = append(b, '{')
	if !t.IsZero() {
		b = append(b, `"time":"`...)
		b = t.Round(0).AppendFormat(b, time.RFC3339Nano)
		b = append(b, `",`...)
	}
	b = append(b, `"level":`...)
	b = appendJSONString(b, level.String())
	b = append(b, `,"msg":"`+Message+`","method":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, r.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(r.Duration), 10) // nanoseconds, as json.Marshal
	b = append(b, `,"remote":`...)
	b = appendJSONString(b, r.Remote)
	if r.MAC != "" {
		b = append(b, `,"mac":`...)
		b = appendJSONString(b, r.MAC)
	}
	if r.Group != "" {
		b = append(b, `,"group":`...)
		b = appendJSONString(b, r.Group)
		b = append(b, `,"profile":`...)
		b = appendJSONString(b, r.Profile)
	}
	if r.Err != nil {
		b = append(b, `,"err":`...)
		b = appendJSONString(b, r.Err.Error())
	}
	return append(b, "}\n"...)
}

// appendRFC3339Millis is slog's: RFC 3339 with exactly three digits of
// milliseconds, truncated.
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefixLen], b[n+prefixLen+1:]...) // drop the 4th digit
}

// appendTextString appends s, quoted with strconv.Quote when slog's text
// handler quotes it.
func appendTextString(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// needsQuoting is slog's: empty, space, '=', '"', control characters,
// Unicode spaces, non-printing runes, invalid UTF-8 (and U+FFFD).
func needsQuoting(s string) bool {
	if len(s) == 0 {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if textBare[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			return true
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// appendJSONString appends s as a JSON string, escaped as slog escapes
// it: no HTML escaping, invalid UTF-8 as \ufffd, U+2028 and U+2029
// escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if safeSet[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, '\\')
			switch c {
			case '\\', '"':
				b = append(b, c)
			case '\n':
				b = append(b, 'n')
			case '\r':
				b = append(b, 'r')
			case '\t':
				b = append(b, 't')
			default:
				b = append(b, 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hex = "0123456789abcdef"

// textBare is the ASCII bytes that needsQuoting lets pass, slog's test
// in one lookup: '\\' and the bytes of safeSet but ' ', '=' (and so
// neither a control character nor '"'). A byte past ASCII is false: its
// rune is decoded.
var textBare = func() (set [256]bool) {
	for c := range utf8.RuneSelf {
		set[c] = c == '\\' || (c != ' ' && c != '=' && safeSet[c])
	}
	return set
}()

// safeSet is encoding/json's (and slog's): the ASCII bytes a JSON string
// holds unescaped, all but the control characters, '"' and '\\'.
var safeSet = func() (set [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		set[c] = c != '"' && c != '\\'
	}
	return set
}()
