package limits

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestNodeHeap_Placement(t *testing.T) {
	const flag256 = "--max-old-space-size=256"
	tests := []struct {
		name      string
		argv      []string
		env       []string
		mib       uint64
		wantArgv  []string
		wantEnv   []string
		wantPlace Placement
	}{
		{
			name:      "size 0 disables",
			argv:      []string{"node", "server.js"},
			env:       []string{"PATH=/usr/bin", "NODE_OPTIONS=--enable-source-maps"},
			mib:       0,
			wantArgv:  []string{"node", "server.js"},
			wantEnv:   []string{"PATH=/usr/bin", "NODE_OPTIONS=--enable-source-maps"},
			wantPlace: NotPlaced,
		},
		{
			name:      "size 0 disables for npm",
			argv:      []string{"npm", "start"},
			env:       []string{"PATH=/usr/bin"},
			mib:       0,
			wantArgv:  []string{"npm", "start"},
			wantEnv:   []string{"PATH=/usr/bin"},
			wantPlace: NotPlaced,
		},
		{
			name:      "empty argv",
			argv:      []string{},
			env:       []string{"PATH=/usr/bin"},
			mib:       256,
			wantArgv:  []string{},
			wantEnv:   []string{"PATH=/usr/bin"},
			wantPlace: NotPlaced,
		},
		{
			name:      "node script",
			argv:      []string{"node", "server.js"},
			env:       []string{"PATH=/usr/bin"},
			mib:       256,
			wantArgv:  []string{"node", flag256, "server.js"},
			wantEnv:   []string{"PATH=/usr/bin"},
			wantPlace: PlacedArgv,
		},
		{
			name:      "nodejs by path",
			argv:      []string{"/usr/local/bin/nodejs", "server.js", "--port", "80"},
			env:       nil,
			mib:       512,
			wantArgv:  []string{"/usr/local/bin/nodejs", "--max-old-space-size=512", "server.js", "--port", "80"},
			wantEnv:   nil,
			wantPlace: PlacedArgv,
		},
		{
			name:      "node alone",
			argv:      []string{"/usr/bin/node"},
			mib:       256,
			wantArgv:  []string{"/usr/bin/node", flag256},
			wantPlace: PlacedArgv,
		},
		{
			name:      "node options before script kept after flag",
			argv:      []string{"node", "--enable-source-maps", "server.js"},
			mib:       256,
			wantArgv:  []string{"node", flag256, "--enable-source-maps", "server.js"},
			wantPlace: PlacedArgv,
		},
		{
			name:      "user flag with dashes",
			argv:      []string{"node", "--max-old-space-size=512", "server.js"},
			env:       []string{"PATH=/usr/bin"},
			mib:       256,
			wantArgv:  []string{"node", "--max-old-space-size=512", "server.js"},
			wantEnv:   []string{"PATH=/usr/bin"},
			wantPlace: UserArgv,
		},
		{
			name:      "user flag with underscores",
			argv:      []string{"node", "--max_old_space_size=512", "server.js"},
			mib:       256,
			wantArgv:  []string{"node", "--max_old_space_size=512", "server.js"},
			wantPlace: UserArgv,
		},
		{
			name:      "user flag with separate value",
			argv:      []string{"node", "--max-old-space-size", "512", "server.js"},
			mib:       256,
			wantArgv:  []string{"node", "--max-old-space-size", "512", "server.js"},
			wantPlace: UserArgv,
		},
		{
			name:      "user flag after other options",
			argv:      []string{"node", "--enable-source-maps", "--max-old-space-size=512", "server.js"},
			mib:       256,
			wantArgv:  []string{"node", "--enable-source-maps", "--max-old-space-size=512", "server.js"},
			wantPlace: UserArgv,
		},
		{
			name:      "flag after script belongs to the script",
			argv:      []string{"node", "server.js", "--max-old-space-size=512"},
			mib:       256,
			wantArgv:  []string{"node", flag256, "server.js", "--max-old-space-size=512"},
			wantPlace: PlacedArgv,
		},
		{
			name:      "flag after double dash belongs to the script",
			argv:      []string{"node", "--", "server.js", "--max-old-space-size=512"},
			mib:       256,
			wantArgv:  []string{"node", flag256, "--", "server.js", "--max-old-space-size=512"},
			wantPlace: PlacedArgv,
		},
		{
			name:      "flag after stdin dash belongs to the script",
			argv:      []string{"node", "-", "--max-old-space-size=512"},
			mib:       256,
			wantArgv:  []string{"node", flag256, "-", "--max-old-space-size=512"},
			wantPlace: PlacedArgv,
		},
		{
			name:      "-r value is not the script",
			argv:      []string{"node", "-r", "dotenv/config", "--max-old-space-size=512", "server.js"},
			mib:       256,
			wantArgv:  []string{"node", "-r", "dotenv/config", "--max-old-space-size=512", "server.js"},
			wantPlace: UserArgv,
		},
		{
			name:      "--require value is not the script",
			argv:      []string{"node", "--require", "x", "--max_old_space_size=512", "server.js"},
			mib:       256,
			wantArgv:  []string{"node", "--require", "x", "--max_old_space_size=512", "server.js"},
			wantPlace: UserArgv,
		},
		{
			name:      "-e code is not the script",
			argv:      []string{"node", "-e", "setInterval(() => {}, 1000)", "--max-old-space-size=512"},
			mib:       256,
			wantArgv:  []string{"node", "-e", "setInterval(() => {}, 1000)", "--max-old-space-size=512"},
			wantPlace: UserArgv,
		},
		{
			name:      "-r value then script without user flag",
			argv:      []string{"node", "-r", "x", "server.js", "--max-old-space-size=512"},
			mib:       256,
			wantArgv:  []string{"node", flag256, "-r", "x", "server.js", "--max-old-space-size=512"},
			wantPlace: PlacedArgv,
		},
		{
			name:      "-e code then no flag",
			argv:      []string{"node", "-e", "console.log(1)"},
			mib:       256,
			wantArgv:  []string{"node", flag256, "-e", "console.log(1)"},
			wantPlace: PlacedArgv,
		},
		{
			name:      "NODE_OPTIONS holds the flag for node",
			argv:      []string{"node", "server.js"},
			env:       []string{"PATH=/usr/bin", "NODE_OPTIONS=--max-old-space-size=100"},
			mib:       256,
			wantArgv:  []string{"node", "server.js"},
			wantEnv:   []string{"PATH=/usr/bin", "NODE_OPTIONS=--max-old-space-size=100"},
			wantPlace: UserEnv,
		},
		{
			name:      "NODE_OPTIONS holds the flag for npm",
			argv:      []string{"npm", "start"},
			env:       []string{"NODE_OPTIONS=--enable-source-maps --max_old_space_size=100", "PATH=/usr/bin"},
			mib:       256,
			wantArgv:  []string{"npm", "start"},
			wantEnv:   []string{"NODE_OPTIONS=--enable-source-maps --max_old_space_size=100", "PATH=/usr/bin"},
			wantPlace: UserEnv,
		},
		{
			name:      "NODE_OPTIONS beats a flag in argv",
			argv:      []string{"node", "--max-old-space-size=512", "server.js"},
			env:       []string{"NODE_OPTIONS=--max-old-space-size=100"},
			mib:       256,
			wantArgv:  []string{"node", "--max-old-space-size=512", "server.js"},
			wantEnv:   []string{"NODE_OPTIONS=--max-old-space-size=100"},
			wantPlace: UserEnv,
		},
		{
			name:      "npm appends to NODE_OPTIONS",
			argv:      []string{"npm", "start"},
			env:       []string{"PATH=/usr/bin", "NODE_OPTIONS=--enable-source-maps", "HOME=/root"},
			mib:       256,
			wantArgv:  []string{"npm", "start"},
			wantEnv:   []string{"PATH=/usr/bin", "NODE_OPTIONS=--enable-source-maps " + flag256, "HOME=/root"},
			wantPlace: PlacedNodeOptions,
		},
		{
			name:      "empty NODE_OPTIONS gets the flag alone",
			argv:      []string{"npm", "start"},
			env:       []string{"NODE_OPTIONS="},
			mib:       256,
			wantArgv:  []string{"npm", "start"},
			wantEnv:   []string{"NODE_OPTIONS=" + flag256},
			wantPlace: PlacedNodeOptions,
		},
		{
			name:      "sh adds NODE_OPTIONS",
			argv:      []string{"/bin/sh", "-c", "exec node server.js"},
			env:       []string{"PATH=/usr/bin", "HOME=/root"},
			mib:       256,
			wantArgv:  []string{"/bin/sh", "-c", "exec node server.js"},
			wantEnv:   []string{"PATH=/usr/bin", "HOME=/root", "NODE_OPTIONS=" + flag256},
			wantPlace: PlacedNodeOptions,
		},
		{
			name:      "npm with no environment",
			argv:      []string{"npm", "run", "serve"},
			env:       nil,
			mib:       1024,
			wantArgv:  []string{"npm", "run", "serve"},
			wantEnv:   []string{"NODE_OPTIONS=--max-old-space-size=1024"},
			wantPlace: PlacedNodeOptions,
		},
		{
			name:      "other variable ending in NODE_OPTIONS is not NODE_OPTIONS",
			argv:      []string{"npm", "start"},
			env:       []string{"MY_NODE_OPTIONS=--max-old-space-size=100"},
			mib:       256,
			wantArgv:  []string{"npm", "start"},
			wantEnv:   []string{"MY_NODE_OPTIONS=--max-old-space-size=100", "NODE_OPTIONS=" + flag256},
			wantPlace: PlacedNodeOptions,
		},
		{
			name:      "nodemon is not node",
			argv:      []string{"nodemon", "server.js"},
			env:       []string{"NODE_OPTIONS=--trace-warnings"},
			mib:       256,
			wantArgv:  []string{"nodemon", "server.js"},
			wantEnv:   []string{"NODE_OPTIONS=--trace-warnings " + flag256},
			wantPlace: PlacedNodeOptions,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv, argvSpare := withSpare(tt.argv)
			env, envSpare := withSpare(tt.env)

			gotArgv, gotEnv, place := NodeHeap(argv, env, tt.mib)

			if place != tt.wantPlace {
				t.Errorf("placement = %q, want %q", place, tt.wantPlace)
			}
			if !slices.Equal(gotArgv, tt.wantArgv) {
				t.Errorf("argv = %q, want %q", gotArgv, tt.wantArgv)
			}
			if !slices.Equal(gotEnv, tt.wantEnv) {
				t.Errorf("env = %q, want %q", gotEnv, tt.wantEnv)
			}
			if !slices.Equal(argv[:cap(argv)], argvSpare) {
				t.Errorf("input argv modified: %q, want %q", argv[:cap(argv)], argvSpare)
			}
			if !slices.Equal(env[:cap(env)], envSpare) {
				t.Errorf("input env modified: %q, want %q", env[:cap(env)], envSpare)
			}
		})
	}
}

// withSpare returns a copy of s with spare capacity filled with sentinels,
// and the full backing array as it was, so that a test can see whether a
// callee wrote into either the elements or the spare room.
func withSpare(s []string) (in, full []string) {
	if s == nil {
		return nil, nil
	}
	backing := make([]string, len(s), len(s)+2)
	copy(backing, s)
	backing = append(backing, "SENTINEL_1", "SENTINEL_2")
	return backing[:len(s)], slices.Clone(backing)
}

func TestIsNode(t *testing.T) {
	tests := []struct {
		argv0 string
		want  bool
	}{
		{"node", true},
		{"nodejs", true},
		{"/usr/local/bin/node", true},
		{"/usr/bin/nodejs", true},
		{"./node", true},
		{"", false},
		{"npm", false},
		{"npx", false},
		{"nodemon", false},
		{"node18", false},
		{"Node", false},
		{"/usr/lib/node/bin/npm", false},
		{"/bin/sh", false},
	}
	for _, tt := range tests {
		t.Run(tt.argv0, func(t *testing.T) {
			if got := IsNode(tt.argv0); got != tt.want {
				t.Errorf("IsNode(%q) = %v, want %v", tt.argv0, got, tt.want)
			}
		})
	}
}

func FuzzNodeHeap(f *testing.F) {
	f.Add("node\nserver.js", "", false, uint64(256))
	f.Add("node\n--max-old-space-size=512\nserver.js", "", false, uint64(256))
	f.Add("node\n-r\nx\nserver.js\n--max_old_space_size=1", "", false, uint64(1))
	f.Add("npm\nstart", "--enable-source-maps", true, uint64(256))
	f.Add("npm\nstart", "--max-old-space-size=100", true, uint64(256))
	f.Add("/bin/sh\n-c\nnode x.js", "", true, uint64(0))
	f.Add("", "", false, uint64(256))
	f.Fuzz(func(t *testing.T, args, opts string, hasOpts bool, mib uint64) {
		var argv []string
		if args != "" {
			argv = strings.Split(args, "\n")
		}
		env := []string{"PATH=/usr/bin"}
		if hasOpts {
			env = append(env, "NODE_OPTIONS="+opts)
		}
		argvIn, envIn := slices.Clone(argv), slices.Clone(env)

		gotArgv, gotEnv, place := NodeHeap(argv, env, mib)

		if !slices.Equal(argv, argvIn) || !slices.Equal(env, envIn) {
			t.Fatalf("inputs modified: argv %q env %q", argv, env)
		}
		added := heapFlags(gotArgv, gotEnv) - heapFlags(argv, env)
		switch place {
		case NotPlaced, UserArgv, UserEnv:
			if !slices.Equal(gotArgv, argv) || !slices.Equal(gotEnv, env) {
				t.Fatalf("%s changed argv %q -> %q, env %q -> %q", place, argv, gotArgv, env, gotEnv)
			}
		case PlacedArgv:
			want := append([]string{argv[0], HeapFlag + "=" + strconv.FormatUint(mib, 10)}, argv[1:]...)
			if !slices.Equal(gotArgv, want) {
				t.Fatalf("argv = %q, want %q", gotArgv, want)
			}
			if !slices.Equal(gotEnv, env) {
				t.Fatalf("env changed with argv placement: %q", gotEnv)
			}
		case PlacedNodeOptions:
			if !slices.Equal(gotArgv, argv) {
				t.Fatalf("argv changed with NODE_OPTIONS placement: %q", gotArgv)
			}
			if n := len(gotEnv) - len(env); n != 0 && n != 1 {
				t.Fatalf("env grew by %d entries: %q", n, gotEnv)
			}
		default:
			t.Fatalf("unknown placement %q", place)
		}
		wantAdded := 0
		if place == PlacedArgv || place == PlacedNodeOptions {
			wantAdded = 1
		}
		if added != wantAdded {
			t.Fatalf("%s added %d heap flags, want %d: argv %q env %q", place, added, wantAdded, gotArgv, gotEnv)
		}
	})
}

// heapFlags counts heap flags anywhere in argv and in NODE_OPTIONS.
func heapFlags(argv, env []string) int {
	n := 0
	count := func(words []string) {
		for _, w := range words {
			if hasFlag([]string{w}, HeapFlag) {
				n++
			}
		}
	}
	count(argv)
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "NODE_OPTIONS="); ok {
			count(strings.Fields(v))
		}
	}
	return n
}
