package supervisor

import (
	"context"
	"fmt"

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
func tree(ctx context.Context, pid int32) ([]*process.Process, error) {
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
