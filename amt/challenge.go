package amt

import (
	"net/http"
	"strings"

	"github.com/icholy/digest"
)

// findChallenge finds the Digest challenge of a 401 answer, like
// digest.FindChallenge, and cleans up its qop list.
//
// RFC 7616 (3.3) sends qop as a quoted list of tokens, and the list
// syntax of RFC 9110 (5.6.1) allows spaces around the commas. AMT 16
// firmware sends qop="auth-int, auth". icholy/digest v1.2.0 splits that
// value on "," without trimming, so it sees the options "auth-int" and
// " auth": " auth" never matches, and the client answers with auth-int
// although the device offered plain auth; with qop=" auth" alone it finds
// no usable challenge at all. Trimming each option here, before the
// library chooses, is the smallest fix and keeps the library's choice
// logic (auth preferred over auth-int) intact.
//
// The other form AMT sends, no space after the commas between
// parameters (nonce="...",stale="false",qop="auth"), the library parses
// as it is.
func findChallenge(h http.Header) (*digest.Challenge, error) {
	var last error
	for _, v := range h.Values("WWW-Authenticate") {
		if !digest.IsDigest(v) {
			continue
		}
		chal, err := digest.ParseChallenge(v)
		if err != nil {
			last = err
			continue
		}
		qop := chal.QOP[:0]
		for _, q := range chal.QOP {
			if q = strings.ToLower(strings.TrimSpace(q)); q != "" {
				qop = append(qop, q)
			}
		}
		chal.QOP = qop
		if digest.CanDigest(chal) {
			return chal, nil
		}
	}
	if last != nil {
		return nil, last
	}
	return nil, digest.ErrNoChallenge
}
