package jaegertest_test

import (
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/chunkcode/chunkcode/internal/jaegertest"
)

func TestStart(t *testing.T) {
	s := jaegertest.Start(t)
	for _, u := range []string{s.OTLPEndpoint, s.QueryURL} {
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		if host, _, _ := net.SplitHostPort(p.Host); host != "127.0.0.1" {
			t.Errorf("%s is not on 127.0.0.1", u)
		}
	}
	traces, err := s.Traces(t.Context(), "nobody")
	if err != nil {
		t.Fatal(err)
	}
	if len(traces) != 0 {
		t.Errorf("a new Jaeger holds %d traces", len(traces))
	}
	if strings.Contains(s.Log(), "0.0.0.0") {
		t.Errorf("jaeger listens on all interfaces:\n%s", s.Log())
	}
}
