package invites

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Links signs what the hub sends out by SMS so that no secret needs to be
// stored with it: the invitation links' secrets, the login codes and the
// personal answer links are all derived from the link key with HMAC-SHA256
// (each under its own label), so the SMS channel can compose them again
// from ids when it sends, and a copy of the database without the key
// (-link-secret) forges none of them.
type Links struct {
	key []byte
}

// MinKeyLen is the shortest link key accepted, in bytes.
const MinKeyLen = 32

// NewLinks returns the signer of key (at least MinKeyLen bytes).
func NewLinks(key []byte) (*Links, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("the link secret must be at least %d characters (it has %d)", MinKeyLen, len(key))
	}
	return &Links{key: append([]byte(nil), key...)}, nil
}

func (l *Links) mac(label string, parts ...[]byte) []byte {
	h := hmac.New(sha256.New, l.key)
	h.Write([]byte(label))
	for _, p := range parts {
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		h.Write(p)
	}
	return h.Sum(nil)
}

// InviteSecret is the secret of an invitation's link: 128 bits, URL-safe
// (22 characters). The store keeps only its SHA-256.
func (l *Links) InviteSecret(invitationID string) string {
	return base64.RawURLEncoding.EncodeToString(l.mac("invite", []byte(invitationID))[:16])
}

// LoginCode is the 6-digit code of a login code id.
func (l *Links) LoginCode(codeID string) string {
	m := l.mac("login-code", []byte(codeID))
	return fmt.Sprintf("%06d", binary.BigEndian.Uint64(m[:8])%1_000_000)
}

// LoginHash is what the store keeps of a code sent to phone: a keyed hash,
// so that a copy of the database does not give the 10^6 codes away to a
// brute force.
func (l *Links) LoginHash(phone, code string) []byte {
	return l.mac("login-hash", []byte(phone), []byte(code))
}

// answerMACLen is the truncated HMAC of an answer code: 64 bits.
const answerMACLen = 8

// Member ids the hub makes are "m_" and 22 URL-safe base64 characters (16
// random bytes): an answer code carries those 16 bytes (tag memberCompact);
// any other id is carried as it is (tag memberRaw, its length first).
const (
	memberCompact = 0
	memberRaw     = 1
	maxMemberID   = 200
)

// AnswerCode is the personal answer link code of (alert, member): the
// alert's seq (uvarint), the member id (compact when it is one of the
// hub's, else raw) and 64 bits of HMAC, base64url. Clients treat it as
// opaque (docs/API.md v1.5).
func (l *Links) AnswerCode(alertSeq int64, memberID string) string {
	var b []byte
	b = binary.AppendUvarint(b, uint64(alertSeq))
	if raw, ok := compactID(memberID); ok {
		b = append(b, memberCompact)
		b = append(b, raw...)
	} else {
		b = append(b, memberRaw)
		b = binary.AppendUvarint(b, uint64(len(memberID)))
		b = append(b, memberID...)
	}
	b = append(b, l.mac("answer", b)[:answerMACLen]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ErrBadCode: an answer code that does not decode or whose HMAC is wrong.
var ErrBadCode = errors.New("bad answer code")

// DecodeAnswer checks an answer code and returns its alert seq and member.
func (l *Links) DecodeAnswer(code string) (alertSeq int64, memberID string, err error) {
	if len(code) == 0 || len(code) > 400 || strings.ContainsAny(code, "\r\n") {
		// The decoder skips newlines even in strict mode: a code is one
		// spelling only.
		return 0, "", ErrBadCode
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(code)
	if err != nil || len(b) < answerMACLen+2 {
		return 0, "", ErrBadCode
	}
	body, mac := b[:len(b)-answerMACLen], b[len(b)-answerMACLen:]
	if !hmac.Equal(mac, l.mac("answer", body)[:answerMACLen]) {
		return 0, "", ErrBadCode
	}
	seq, n := binary.Uvarint(body)
	if n <= 0 || seq == 0 || seq > 1<<62 || n >= len(body) {
		return 0, "", ErrBadCode
	}
	rest := body[n:]
	switch rest[0] {
	case memberCompact:
		if len(rest) != 17 {
			return 0, "", ErrBadCode
		}
		memberID = "m_" + base64.RawURLEncoding.EncodeToString(rest[1:])
	case memberRaw:
		size, k := binary.Uvarint(rest[1:])
		if k <= 0 || size == 0 || size > maxMemberID || uint64(len(rest)-1-k) != size {
			return 0, "", ErrBadCode
		}
		memberID = string(rest[1+k:])
	default:
		return 0, "", ErrBadCode
	}
	return int64(seq), memberID, nil
}

// compactID returns the 16 bytes of a member id the hub made.
func compactID(id string) ([]byte, bool) {
	s, ok := strings.CutPrefix(id, "m_")
	if !ok || len(s) != 22 {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(raw) != 16 || base64.RawURLEncoding.EncodeToString(raw) != s {
		return nil, false
	}
	return raw, true
}
