package phx

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// filteredKeys are the parameter names whose values never reach a log, as
// Phoenix's default filter_parameters: any key containing one of them.
var filteredKeys = []string{"token", "password"}

const filtered = "[FILTERED]"

func isSecretKey(k string) bool {
	k = strings.ToLower(k)
	for _, f := range filteredKeys {
		if strings.Contains(k, f) {
			return true
		}
	}
	return false
}

// filterParams returns the connect parameters for a log line, with secret
// values replaced.
func filterParams(params map[string][]string) map[string]any {
	out := make(map[string]any, len(params))
	for k, v := range params {
		switch {
		case isSecretKey(k):
			out[k] = filtered
		case len(v) == 1:
			out[k] = v[0]
		default:
			out[k] = v
		}
	}
	return out
}

// filterError returns err's message with any secret parameter value or
// token that it quotes masked.
func filterError(err error, params map[string][]string, token string) string {
	msg := err.Error()
	secrets := []string{token}
	for k, vs := range params {
		if isSecretKey(k) {
			secrets = append(secrets, vs...)
		}
	}
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, filtered)
		}
	}
	return msg
}

// logPayload returns a join payload for a log line, with secret keys masked.
func logPayload(p Payload) any {
	if p.Binary {
		return "<binary " + strconv.Itoa(len(p.Data)) + " bytes>"
	}
	var m map[string]any
	if err := json.Unmarshal(p.Data, &m); err != nil {
		return string(p.Data)
	}
	for k := range m {
		if isSecretKey(k) {
			m[k] = filtered
		}
	}
	return m
}

// formatDuration prints d as Phoenix does in its CONNECTED line: µs below a
// millisecond, ms above.
func formatDuration(d time.Duration) string {
	if d < time.Millisecond {
		return strconv.FormatInt(d.Microseconds(), 10) + "µs"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}
