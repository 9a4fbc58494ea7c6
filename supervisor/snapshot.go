package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// snapshotSuffix ends the names of node's heap snapshot files.
const snapshotSuffix = ".heapsnapshot"

// pruneSnapshots deletes the oldest heap snapshots in dir until at most
// keep remain, and returns the names it deleted.
func pruneSnapshots(dir string, keep int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list heap snapshots: %w", err)
	}
	type file struct {
		name string
		mod  int64
	}
	var files []file
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), snapshotSuffix) {
			if info, err := e.Info(); err == nil {
				files = append(files, file{e.Name(), info.ModTime().UnixNano()})
			}
		}
	}
	sort.Slice(files, func(i, j int) bool {
		if files[i].mod != files[j].mod {
			return files[i].mod < files[j].mod
		}
		return files[i].name < files[j].name
	})
	var removed []string
	for len(files) > max(keep, 0) {
		if err := os.Remove(filepath.Join(dir, files[0].name)); err != nil && !os.IsNotExist(err) {
			return removed, fmt.Errorf("remove heap snapshot: %w", err)
		}
		removed = append(removed, files[0].name)
		files = files[1:]
	}
	return removed, nil
}
