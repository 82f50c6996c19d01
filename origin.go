package phx

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// originPattern is one parsed SocketOptions.OriginPatterns entry; empty
// fields match anything. A scheme without a port implies the scheme's
// default port, as in Phoenix.
type originPattern struct {
	scheme string
	host   string // lower case, without a leading "*."
	wild   bool   // "*.host": host and its subdomains
	port   string
}

// parseOrigins parses the patterns, panicking on one that cannot be an
// origin, since it is a configuration mistake found at startup.
func parseOrigins(patterns []string) []originPattern {
	out := make([]originPattern, 0, len(patterns))
	for _, p := range patterns {
		raw := p
		var o originPattern
		if i := strings.Index(p, "//"); i >= 0 {
			o.scheme = strings.ToLower(strings.TrimSuffix(p[:i], ":"))
			p = p[i+2:]
		}
		host, port, err := net.SplitHostPort(p)
		if err != nil {
			host = p
		} else {
			o.port = port
		}
		host = strings.ToLower(strings.TrimSuffix(host, "/"))
		if strings.HasPrefix(host, "*.") {
			o.wild, host = true, host[2:]
		}
		if host == "" || strings.ContainsAny(host, "/*?#@") {
			panic(fmt.Sprintf("phx: SocketOptions.OriginPatterns: %q is not an origin such as \"https://example.com\" or \"*.example.com\"", raw))
		}
		o.host = host
		if o.port == "" && o.scheme != "" {
			// As Phoenix parses "https://example.com": the scheme implies its port.
			o.port = originPort(&url.URL{Scheme: o.scheme})
		}
		out = append(out, o)
	}
	return out
}

// match reports whether the parsed Origin u is allowed by o.
func (o originPattern) match(u *url.URL) bool {
	if o.scheme != "" && o.scheme != strings.ToLower(u.Scheme) {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if host != o.host && !(o.wild && strings.HasSuffix(host, "."+o.host)) {
		return false
	}
	return o.port == "" || o.port == originPort(u)
}

// originPort is u's port, or the scheme's default.
func originPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https", "wss":
		return "443"
	case "http", "ws":
		return "80"
	}
	return ""
}

// originAllowed applies the origin check to both transports (W-12): a
// request without an Origin header passes; otherwise CheckOrigin decides,
// or the Origin must name the request's own host or match OriginPatterns
// (an empty Origin matches nothing, as in Phoenix).
func (s *Socket) originAllowed(r *http.Request) bool {
	if s.opts.InsecureSkipOriginCheck {
		return true
	}
	origins, sent := r.Header["Origin"]
	if !sent {
		return true // not a browser: nothing to protect against
	}
	if s.opts.CheckOrigin != nil {
		return s.opts.CheckOrigin(r)
	}
	origin := ""
	if len(origins) > 0 {
		origin = origins[0]
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Hostname(), hostname(r.Host)) {
		return true
	}
	for _, o := range s.origins {
		if o.match(u) {
			return true
		}
	}
	return false
}

func hostname(hostport string) string {
	u := url.URL{Host: hostport}
	return u.Hostname()
}
