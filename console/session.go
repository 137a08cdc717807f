package console

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// sessions holds the logged-in browsers. A session id is 32 random bytes;
// only its SHA-256 is kept, so the table never holds a usable cookie.
type sessions struct {
	ttl, idle time.Duration
	max       int
	now       func() time.Time

	mu   sync.Mutex
	byID map[[sha256.Size]byte]*session
}

// session is one logged-in browser.
type session struct {
	id string // the cookie value; set only on the copy handed to a request
	// who is the operator's identity ("token:ab12cd34", "cert:alice").
	who string
	// csrf is the form token every POST of this session must carry.
	csrf    string
	created time.Time
	used    time.Time
	// flash is a message shown once, on the next page.
	flash string
}

func newSessions(ttl, idle time.Duration, max int, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, idle: idle, max: max, now: now, byID: map[[sha256.Size]byte]*session{}}
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return short)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session for who and returns it with its id. Expired
// sessions are swept first; beyond max, the least recently used ends.
func (s *sessions) create(who string) session {
	id := randomToken()
	now := s.now()
	ses := &session{who: who, csrf: randomToken(), created: now, used: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) >= s.max {
		for k, o := range s.byID {
			if s.expired(o, now) {
				delete(s.byID, k)
			}
		}
	}
	for len(s.byID) >= s.max {
		var oldest [sha256.Size]byte
		var at time.Time
		first := true
		for k, o := range s.byID {
			if first || o.used.Before(at) {
				oldest, at, first = k, o.used, false
			}
		}
		delete(s.byID, oldest)
	}
	s.byID[sha256.Sum256([]byte(id))] = ses
	c := *ses
	c.id = id
	return c
}

func (s *sessions) expired(o *session, now time.Time) bool {
	return now.Sub(o.created) >= s.ttl || now.Sub(o.used) >= s.idle
}

// get returns the session with this id and marks it used, or false when
// there is none or it expired. It takes the flash message.
func (s *sessions) get(id string) (session, bool) {
	if id == "" {
		return session{}, false
	}
	k := sha256.Sum256([]byte(id))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.byID[k]
	if o == nil {
		return session{}, false
	}
	if s.expired(o, now) {
		delete(s.byID, k)
		return session{}, false
	}
	o.used = now
	c := *o
	c.id = id
	o.flash = ""
	return c, true
}

// alive reports whether the session still exists, without marking it
// used (the live view asks every tick; watching is not using).
func (s *sessions) alive(id string) bool {
	k := sha256.Sum256([]byte(id))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.byID[k]
	return o != nil && now.Sub(o.created) < s.ttl
}

// setFlash leaves a message for the session's next page.
func (s *sessions) setFlash(id, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.byID[sha256.Sum256([]byte(id))]; o != nil {
		o.flash = msg
	}
}

// delete ends a session.
func (s *sessions) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, sha256.Sum256([]byte(id)))
}

// len returns the number of sessions held.
func (s *sessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// endWhere ends every session whose identity drop reports, and returns
// how many it ended.
func (s *sessions) endWhere(drop func(who string) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, o := range s.byID {
		if drop(o.who) {
			delete(s.byID, k)
			n++
		}
	}
	return n
}
