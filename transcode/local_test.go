package transcode_test

import (
	"testing"

	"github.com/chunkcode/chunkcode/transcode"
	"github.com/chunkcode/chunkcode/transcode/backendtest"
)

func TestLocal(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) transcode.Backend { return &transcode.Local{} })
}
