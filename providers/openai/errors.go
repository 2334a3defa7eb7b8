package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/pennyllm/penny/core/llm"
)

// go-openai turns a failed response into an error without its headers, so
// Retry-After would be lost. capturingDoer records the status and headers
// of each response into a per-attempt value carried by the request context
// (per attempt, so concurrent calls never see each other's headers).
type captureKey struct{}

type capture struct {
	status int
	header http.Header
}

type capturingDoer struct{ inner *http.Client }

func (d capturingDoer) Do(r *http.Request) (*http.Response, error) {
	resp, err := d.inner.Do(r)
	if c, ok := r.Context().Value(captureKey{}).(*capture); ok && resp != nil {
		c.status, c.header = resp.StatusCode, resp.Header
	}
	return resp, err
}

// classify turns whatever go-openai or the transport returned into one
// *llm.Error with a redacted one-line detail.
func (p *Provider) classify(actx context.Context, capt *capture, err error, limit time.Duration, midStream bool) *llm.Error {
	e := &llm.Error{Provider: p.cfg.Name}
	var (
		apiErr *goopenai.APIError
		reqErr *goopenai.RequestError
		synErr *json.SyntaxError
		typErr *json.UnmarshalTypeError
		urlErr *url.Error
		msg    string
	)
	switch {
	case errors.As(err, &apiErr):
		e.Status, msg = apiErr.HTTPStatusCode, apiErr.Message
	case errors.As(err, &reqErr):
		e.Status, msg = reqErr.HTTPStatusCode, string(reqErr.Body)
	}
	if e.Status == 0 && capt.status >= 400 {
		e.Status = capt.status
	}
	switch {
	case e.Status == http.StatusUnauthorized:
		// The server's text for a bad key usually quotes (part of) the key;
		// say nothing more than the status.
		e.Kind = llm.ErrAuth
	case e.Status == http.StatusForbidden:
		e.Kind, e.Detail = llm.ErrAuth, p.redact(msg)
	case e.Status == http.StatusTooManyRequests:
		e.Kind, e.Detail = llm.ErrRateLimited, p.redact(msg)
		e.RetryAfter = retryAfter(capt.header, time.Now())
	case e.Status == http.StatusRequestTimeout:
		e.Kind = llm.ErrTimeout
	case e.Status >= 500:
		e.Kind, e.Detail = llm.ErrServer, p.redact(msg)
		e.RetryAfter = retryAfter(capt.header, time.Now())
	case e.Status >= 400:
		e.Kind, e.Detail = llm.ErrBadRequest, p.redact(msg)
	case errors.Is(context.Cause(actx), errAttemptTimeout):
		e.Kind = llm.ErrTimeout
		if midStream {
			e.Detail = fmt.Sprintf("stream silent for %s", limit)
		} else {
			e.Detail = fmt.Sprintf("no response within %s", limit)
		}
	case apiErr != nil:
		// An error event inside a 200 stream: the server failed mid-way.
		e.Kind, e.Detail = llm.ErrServer, p.redact(apiErr.Message)
	case errors.As(err, &synErr), errors.As(err, &typErr),
		// A 200 whose JSON body ends early: the decoder reports EOF.
		!midStream && capt.status/100 == 2 && errors.Is(err, io.ErrUnexpectedEOF):
		e.Kind, e.Detail = llm.ErrBadResponse, p.redact(err.Error())
	case errors.Is(err, goopenai.ErrTooManyEmptyStreamMessages):
		e.Kind, e.Detail = llm.ErrBadResponse, "stream carried no data lines"
	case errors.As(err, &urlErr), midStream:
		// The transport failed (refused, reset, DNS, TLS) or the
		// connection broke inside a stream.
		e.Kind, e.Detail = llm.ErrUnavailable, p.redact(err.Error())
	case capt.status == 0:
		// No response and no transport error: go-openai refused the
		// request before sending it (a model it knows cannot chat).
		e.Kind, e.Detail = llm.ErrBadRequest, p.redact(err.Error())
	default:
		e.Kind, e.Detail = llm.ErrUnavailable, p.redact(err.Error())
	}
	return e
}

var (
	bearerRe = regexp.MustCompile(`(?i)bearer\s+\S+`)
	// Well-known key shapes (OpenAI sk-, OpenRouter sk-or-, Groq gsk_), in
	// case a server echoes a key other than ours.
	keyShapeRe = regexp.MustCompile(`\b(sk-[A-Za-z0-9_-]{8,}|gsk_[A-Za-z0-9]{8,})`)
)

// maxDetail bounds the server text kept in an error (one line for the UI).
const maxDetail = 200

// redact removes the key (and anything shaped like one), flattens to one
// line and truncates. Truncation runs last so no prefix of the key can
// survive it.
func (p *Provider) redact(s string) string {
	if p.key != "" {
		s = strings.ReplaceAll(s, p.key, "[redacted]")
	}
	s = bearerRe.ReplaceAllString(s, "Bearer [redacted]")
	s = keyShapeRe.ReplaceAllString(s, "[redacted]")
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxDetail {
		cut := maxDetail
		for cut > 0 && (s[cut]&0xC0) == 0x80 { // stay on a UTF-8 boundary
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// retryAfter reads Retry-After (delay in seconds or an HTTP date) and
// OpenAI's retry-after-ms. Unparseable or past values give 0.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if ms := strings.TrimSpace(h.Get("Retry-After-Ms")); ms != "" {
		if f, err := strconv.ParseFloat(ms, 64); err == nil && f > 0 && f < 1e9 {
			return time.Duration(f * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 || secs > 1e6 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// backoff is the delay before retry number attempt (1-based): exponential
// from BackoffBase, capped at BackoffMax, with "equal jitter" (half fixed,
// half random) so synchronized clients spread out but never retry at once.
func (p *Provider) backoff(attempt int) time.Duration {
	d := p.cfg.BackoffBase
	for i := 1; i < attempt && d < p.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, p.cfg.BackoffMax)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}
