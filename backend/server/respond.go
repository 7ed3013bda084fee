package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aispace/credits/backend/credits"
	"github.com/aispace/credits/shared"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	shared.CodeInvalid:             http.StatusBadRequest,
	shared.CodeUnauthorized:        http.StatusUnauthorized,
	shared.CodeForbidden:           http.StatusForbidden,
	shared.CodeNotFound:            http.StatusNotFound,
	shared.CodeConflict:            http.StatusConflict,
	shared.CodeInsufficientCredits: http.StatusPaymentRequired,
	shared.CodePriceUnavailable:    http.StatusServiceUnavailable,
	shared.CodeRateLimited:         http.StatusTooManyRequests,
	shared.CodeUnavailable:         http.StatusServiceUnavailable,
	shared.CodeInternal:            http.StatusInternalServerError,
}

// maxBody bounds every JSON request body.
const maxBody = 64 << 10

// errorf makes a domain error for a bad request.
func errorf(code, format string, args ...any) error { return credits.Errorf(code, format, args...) }

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError answers err in the API's shape. Errors without a code are logged and
// answered as "internal" with a generic message: their detail may hold anything.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := credits.ErrorCode(err)
	msg := credits.ErrorMessage(err)
	if code == shared.CodeInternal {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "1")
		}
	}
	writeJSON(w, status, shared.ErrorBody{Error: shared.ErrorDetail{Code: code, Message: msg}})
}

// decode reads a JSON body into v: JSON only, bounded, no unknown fields, nothing
// after the value. Its errors say what was wrong for people, never echoing secrets.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return errorf(shared.CodeInvalid, "send the body as application/json")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		var syntax *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig):
			return errorf(shared.CodeInvalid, "the body is larger than %d bytes", maxBody)
		case errors.Is(err, io.EOF):
			return errorf(shared.CodeInvalid, "the body is empty; send a JSON object")
		case errors.As(err, &syntax):
			return errorf(shared.CodeInvalid, "the body is not valid JSON (at byte %d)", syntax.Offset)
		case errors.As(err, &typeErr):
			return errorf(shared.CodeInvalid, "field %q has the wrong type (want %s)", typeErr.Field, typeErr.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return errorf(shared.CodeInvalid, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		default:
			return errorf(shared.CodeInvalid, "the body could not be read as JSON")
		}
	}
	if dec.More() {
		return errorf(shared.CodeInvalid, "the body holds more than one JSON value")
	}
	return nil
}

// handler is a handler that returns its error; serve turns it into an answer.
type handler func(w http.ResponseWriter, r *http.Request) error

func (s *Server) serve(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// requestLogger is a logger with the request's id.
func requestLogger(l *slog.Logger, id string) *slog.Logger { return l.With("request_id", id) }

func idempotencyKeyErr(k string) error {
	if k == "" || len(k) > 255 {
		return errorf(shared.CodeInvalid, "idempotency_key is required, 1 to 255 characters")
	}
	for _, c := range k {
		if c < 0x20 || c == 0x7f {
			return errorf(shared.CodeInvalid, "idempotency_key must be printable")
		}
	}
	return nil
}

func plural(n int64, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
