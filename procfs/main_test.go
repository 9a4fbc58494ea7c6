package procfs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"

	"github.com/crinit/crinit/internal/testmain"
)

// helperEnv names the helper a re-executed test binary runs instead of the
// tests, as Go's os/exec tests do: the test binary plays the processes of
// a real tree.
const helperEnv = "CRINIT_PROCFS_TEST_HELPER"

// helpers are the helper processes by name; each returns its exit status.
var helpers = map[string]func() int{
	// block lives until its stdin is closed.
	"block": func() int {
		fmt.Println("ready") // its command line is the test binary's from here on
		if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
			return 1
		}
		return 0
	},
	// parent starts a block of its own, writes that child's PID to stdout
	// and lives, with it, until its stdin is closed.
	"parent": func() int {
		child := exec.Command(os.Args[0], blockerArg)
		child.Env = append(os.Environ(), helperEnv+"=block")
		in, err := child.StdinPipe()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		out, err := child.StdoutPipe()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(child.Process.Pid)
		_, _ = io.Copy(io.Discard, os.Stdin)
		in.Close()
		if err := child.Wait(); err != nil {
			return 1
		}
		return 0
	},
}

func TestMain(m *testing.M) {
	testmain.Run(m, helperEnv, helpers)
}
