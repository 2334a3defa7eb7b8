package llm

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel kinds of provider failure. Every provider returns an *Error whose
// Kind is one of these, so callers (UI, CLI, batcher) can branch with
// errors.Is and show a short reason without parsing text.
var (
	ErrAuth        = errors.New("API key rejected")
	ErrRateLimited = errors.New("rate limited")
	ErrServer      = errors.New("server error")
	ErrTimeout     = errors.New("timed out")
	ErrBadResponse = errors.New("malformed response")
	ErrBadRequest  = errors.New("request rejected")
	ErrUnavailable = errors.New("provider unreachable")
	ErrNoProvider  = errors.New("no provider configured")
)

// Error is a provider failure described in one line. It never carries the
// API key: providers redact it from Detail before building the value, and
// Unwrap exposes only Kind, never the transport error it came from (whose
// text could hold a URL or header echoing the key).
type Error struct {
	Kind       error         // one of the Err* sentinels above
	Provider   string        // configured provider name ("openai", "groq", "sim")
	Status     int           // HTTP status, 0 when there was no response
	Attempts   int           // calls made, retries included
	RetryAfter time.Duration // what the server asked for on a 429/503, 0 if nothing
	Detail     string        // one redacted line from the server or transport, may be empty
}

func (e *Error) Error() string {
	var s string
	switch e.Kind {
	case ErrAuth:
		s = fmt.Sprintf("API key rejected by %s", e.Provider)
	case ErrRateLimited:
		s = fmt.Sprintf("rate limited by %s", e.Provider)
	case ErrServer:
		s = fmt.Sprintf("%s server error", e.Provider)
	case ErrTimeout:
		s = fmt.Sprintf("%s timed out", e.Provider)
	case ErrBadResponse:
		s = fmt.Sprintf("%s returned malformed JSON", e.Provider)
	case ErrBadRequest:
		s = fmt.Sprintf("%s rejected the request", e.Provider)
	case ErrUnavailable:
		s = fmt.Sprintf("cannot reach %s", e.Provider)
	default:
		s = fmt.Sprintf("%s failed", e.Provider)
	}
	if e.Status != 0 {
		s += fmt.Sprintf(" (%d)", e.Status)
	}
	if e.Attempts > 1 {
		s += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	if e.RetryAfter > 0 {
		r := e.RetryAfter.Round(100 * time.Millisecond)
		if e.RetryAfter < time.Second {
			r = e.RetryAfter.Round(time.Millisecond)
		}
		s += fmt.Sprintf("; retry after %s", r)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap exposes the kind only, so errors.Is(err, llm.ErrRateLimited) works.
func (e *Error) Unwrap() error { return e.Kind }

// Reason is a short machine-friendly code for the UI and the ledger:
// "auth", "rate_limited", "server", "timeout", "bad_response", "bad_request",
// "unavailable", "no_provider" or "error".
func (e *Error) Reason() string { return Reason(e) }

// Reason returns the short code of any error ("canceled" for a context
// cancellation, "error" when the kind is unknown).
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrAuth):
		return "auth"
	case errors.Is(err, ErrRateLimited):
		return "rate_limited"
	case errors.Is(err, ErrServer):
		return "server"
	case errors.Is(err, ErrTimeout):
		return "timeout"
	case errors.Is(err, ErrBadResponse):
		return "bad_response"
	case errors.Is(err, ErrBadRequest):
		return "bad_request"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, ErrNoProvider):
		return "no_provider"
	default:
		return "error"
	}
}

// Retryable reports whether a failure is transient: rate limits, server
// errors, timeouts and unreachable servers are; a rejected key, a rejected
// request or a malformed answer are not (sending again changes nothing).
func Retryable(err error) bool {
	return errors.Is(err, ErrRateLimited) || errors.Is(err, ErrServer) ||
		errors.Is(err, ErrTimeout) || errors.Is(err, ErrUnavailable)
}
