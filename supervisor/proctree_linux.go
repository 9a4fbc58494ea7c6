package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"

	"github.com/shirou/gopsutil/v3/common"
	"github.com/shirou/gopsutil/v3/process"
)

// proc is one process of the tree, as found in procfs.
type proc struct {
	PID     int32
	Command string
}

// procContext roots gopsutil's procfs reads at root ("" means /proc).
func procContext(root string) context.Context {
	ctx := context.Background()
	if root == "" {
		return ctx
	}
	return context.WithValue(ctx, common.EnvKey, common.EnvMap{common.HostProcEnvKey: root})
}

// tree returns the living descendants of pid, zombies left out, parents
// before their children. Processes that vanish mid-walk are skipped: the
// tree changes under us.
//
// It walks /proc/PID/task/TID/children from pid down, which reads only the
// tree itself; where the kernel lacks those files (CONFIG_PROC_CHILDREN),
// it scans every process for its parent instead.
func tree(ctx context.Context, pid int32) ([]*process.Process, error) {
	root := procRootOf(ctx)
	buf := new(procBuf)
	if _, ok := childPIDs(root, pid, buf); !ok {
		return scanTree(ctx, pid)
	}
	var out []*process.Process
	queue := []int32{pid}
	for len(queue) > 0 {
		kids, _ := childPIDs(root, queue[0], buf)
		queue = queue[1:]
		for _, k := range kids {
			p, err := process.NewProcessWithContext(ctx, k)
			if err != nil {
				continue // gone
			}
			if st, err := p.StatusWithContext(ctx); err != nil || (len(st) > 0 && st[0] == process.Zombie) {
				continue
			}
			out = append(out, p)
			queue = append(queue, k)
		}
	}
	return out, nil
}

// childPIDs lists the children of pid from the children files of all its
// threads (a child belongs to the thread that forked it). ok is false when
// the kernel has no such files or pid is gone. buf is scratch space.
func childPIDs(root string, pid int32, buf *procBuf) (kids []int32, ok bool) {
	dir := root + "/" + strconv.Itoa(int(pid)) + "/task/"
	tids, ok := buf.numericEntries(dir, nil)
	if !ok {
		return nil, false
	}
	for _, tid := range tids {
		b, err := buf.read(dir + strconv.Itoa(tid) + "/children")
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && tid == int(pid) {
				return nil, false // the main thread has none: no CONFIG_PROC_CHILDREN
			}
			continue
		}
		for f, rest := nextField(b); len(f) > 0; f, rest = nextField(rest) {
			if n, err := strconv.ParseInt(string(f), 10, 32); err == nil {
				kids = append(kids, int32(n))
			}
		}
	}
	return kids, true
}

// scanTree finds pid's descendants by reading every process's parent.
func scanTree(ctx context.Context, pid int32) ([]*process.Process, error) {
	all, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	children := make(map[int32][]*process.Process, len(all))
	for _, p := range all {
		ppid, err := p.PpidWithContext(ctx)
		if err != nil {
			continue
		}
		children[ppid] = append(children[ppid], p)
	}
	var out []*process.Process
	queue := children[pid]
	for len(queue) > 0 {
		p := queue[0]
		queue = append(queue[1:], children[p.Pid]...)
		if st, err := p.StatusWithContext(ctx); err != nil || (len(st) > 0 && st[0] == process.Zombie) {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// procRootOf is the procfs root that procContext put in ctx.
func procRootOf(ctx context.Context) string {
	if m, ok := ctx.Value(common.EnvKey).(common.EnvMap); ok && m[common.HostProcEnvKey] != "" {
		return m[common.HostProcEnvKey]
	}
	return "/proc"
}

// treePIDs lists pid's descendants, parents before children, zombies
// included, from the children files (or, without them, a full scan).
func treePIDs(ctx context.Context, pid int32, buf *procBuf) ([]int32, error) {
	root := procRootOf(ctx)
	if _, ok := childPIDs(root, pid, buf); !ok {
		ps, err := scanTree(ctx, pid)
		out := make([]int32, len(ps))
		for i, p := range ps {
			out[i] = p.Pid
		}
		return out, err
	}
	var out []int32
	for queue := []int32{pid}; len(queue) > 0; queue = queue[1:] {
		kids, _ := childPIDs(root, queue[0], buf)
		out = append(out, kids...)
		queue = append(queue, kids...)
	}
	return out, nil
}

// commandOf is pid's command line, or "" when it is gone.
func commandOf(ctx context.Context, pid int32) string {
	p, err := process.NewProcessWithContext(ctx, pid)
	if err != nil {
		return ""
	}
	return command(ctx, p)
}

// descendants returns the living descendants of pid with their commands.
func descendants(ctx context.Context, pid int32) ([]proc, error) {
	ps, err := tree(ctx, pid)
	if err != nil {
		return nil, err
	}
	out := make([]proc, len(ps))
	for i, p := range ps {
		out[i] = proc{PID: p.Pid, Command: command(ctx, p)}
	}
	return out, nil
}

// command is the process's command line, or its name when it has none
// (kernel threads, zombies, processes caught mid-exec).
func command(ctx context.Context, p *process.Process) string {
	if cmd, err := p.CmdlineWithContext(ctx); err == nil && cmd != "" {
		return cmd
	}
	name, _ := p.NameWithContext(ctx)
	return name
}
