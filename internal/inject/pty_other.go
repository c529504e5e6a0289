//go:build !unix

package inject

import (
	"os"

	"github.com/hashicorp/go-hclog"

	"github.com/azexec/azexec/internal/mask"
)

// newPTYStreams: no pseudo-terminals here; the child's output is masked
// through pipes.
func newPTYStreams(Command, *mask.Masker, hclog.Logger) (childStreams, bool) { return nil, false }

// winchSignal does not exist here.
var winchSignal os.Signal = nil
