package lambdatest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Regional stands in for the regional Lambda endpoint, which is one URL
// for any number of invocations at once: it forwards each Invoke to a free
// emulator of a pool, and when none is free it answers as Lambda does at
// its concurrency limit, HTTP 429 with a TooManyRequestsException. Point
// the AWS SDK at it with AWS_ENDPOINT_URL_LAMBDA=URL.
//
// It serves only Invoke (POST /2015-03-31/functions/NAME/invocations), for
// any function NAME; anything else is a 404 ResourceNotFoundException, so
// a client asking for the function's configuration finds none.
type Regional struct {
	URL string // http://127.0.0.1:PORT

	srv    *httptest.Server
	free   chan string // emulator endpoints not running an invocation
	client *http.Client
	ctx    context.Context // cancelled when the test ends

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	invocations int
	throttles   int
}

// Regional starts a stand-in for the regional endpoint in front of f's
// emulators, on 127.0.0.1. It is stopped in t.Cleanup, before the
// emulators.
func (f *Functions) Regional(t testing.TB) *Regional {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Regional{free: make(chan string, len(f.Endpoints)), client: &http.Client{}, ctx: ctx}
	for _, e := range f.Endpoints {
		r.free <- e
	}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL
	t.Cleanup(func() {
		cancel() // invocations still forwarded end now
		r.srv.Close()
	})
	return r
}

// MaxInFlight is the most invocations that ran at once.
func (r *Regional) MaxInFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxInFlight
}

// Invocations is how many invocations were forwarded to an emulator.
func (r *Regional) Invocations() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.invocations
}

// Throttles is how many invocations were answered 429 because every
// emulator was busy.
func (r *Regional) Throttles() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.throttles
}

func (r *Regional) serve(w http.ResponseWriter, req *http.Request) {
	name, ok := strings.CutPrefix(req.URL.Path, "/2015-03-31/functions/")
	name, ok2 := strings.CutSuffix(name, "/invocations")
	if !ok || !ok2 || name == "" || strings.Contains(name, "/") || req.Method != http.MethodPost {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+req.URL.Path)
		return
	}
	var emulator string
	select {
	case emulator = <-r.free:
	default:
		r.mu.Lock()
		r.throttles++
		r.mu.Unlock()
		lambdaError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded.")
		return
	}
	r.mu.Lock()
	r.invocations++
	r.inFlight++
	r.maxInFlight = max(r.maxInFlight, r.inFlight)
	r.mu.Unlock()
	status, header, body, err := r.forward(emulator, req)
	// The emulator is free again once it has answered, or the test ended.
	r.mu.Lock()
	r.inFlight--
	r.mu.Unlock()
	r.free <- emulator
	if err != nil {
		lambdaError(w, http.StatusBadGateway, "ServiceException", err.Error())
		return
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	w.Write(body)
}

// forward runs one invocation on emulator, which serves the function under
// its only name. It waits for the emulator's answer even when the client
// has gone, so that the emulator is not handed a second invocation while
// it runs the first.
func (r *Regional) forward(emulator string, req *http.Request) (int, http.Header, []byte, error) {
	payload, err := io.ReadAll(req.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	u := emulator + "/2015-03-31/functions/function/invocations"
	out, err := http.NewRequestWithContext(r.ctx, http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, nil, err
	}
	for _, h := range []string{"Content-Type", "X-Amz-Invocation-Type", "X-Amz-Log-Type", "X-Amz-Client-Context"} {
		if v := req.Header.Get(h); v != "" {
			out.Header.Set(h, v)
		}
	}
	resp, err := r.client.Do(out)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	resp.Header.Del("Content-Length")
	return resp.StatusCode, resp.Header, body, nil
}

// lambdaError answers as the Lambda API does: the error type in the
// X-Amzn-ErrorType header and a JSON body.
func lambdaError(w http.ResponseWriter, status int, errType, message string) {
	w.Header().Set("X-Amzn-ErrorType", errType)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": message})
}
