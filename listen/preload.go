package listen

import (
	_ "embed" // the preload
	"encoding/base64"
	"strings"
)

//go:embed preload.mjs
var preload []byte

// PreloadFlag is node's option that runs the preload before the app: an
// ES module in a data: URL, so that nothing is written to disk and a
// read-only root filesystem works.
func PreloadFlag() string {
	return "--import=data:text/javascript;base64," + base64.StdEncoding.EncodeToString(preload)
}

// WithPreload returns env with the preload added to NODE_OPTIONS, after
// whatever options it holds already, and graceful set for it
// (CRINIT_LISTEN_GRACEFUL=0 turns its graceful stop off). env is not
// modified.
func WithPreload(env []string, graceful bool) []string {
	out := make([]string, 0, len(env)+2)
	opts := PreloadFlag()
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "NODE_OPTIONS="); ok {
			opts = strings.TrimSpace(v + " " + opts)
			continue
		}
		if strings.HasPrefix(kv, "CRINIT_LISTEN_GRACEFUL=") {
			continue
		}
		out = append(out, kv)
	}
	out = append(out, "NODE_OPTIONS="+opts)
	if !graceful {
		out = append(out, "CRINIT_LISTEN_GRACEFUL=0")
	}
	return out
}
