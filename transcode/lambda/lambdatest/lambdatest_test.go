package lambdatest

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Cleanup()
	os.Exit(code)
}

// TestStopLeavesNothing checks that the harness sees the emulator and the
// function process it starts, and that stopping them leaves none running.
func TestStopLeavesNothing(t *testing.T) {
	fns := StartFunctions(t, FunctionOptions{N: 1})
	// An empty request starts the function, which rejects it.
	resp, err := http.Post(fns.Endpoints[0]+"/2015-03-31/functions/function/invocations", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, []int{1}, fns.Invocations())

	p := fns.procs[0]
	assert.GreaterOrEqual(t, len(processesWith(p.marker)), 2, "the emulator and the function carry the marker")
	p.stop(t)
	assert.Empty(t, processesWith(p.marker), "no process is left after stop")
}
