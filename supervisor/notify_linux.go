package supervisor

import (
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// notifySocket is sd_notify's NOTIFY_SOCKET for the children: a datagram
// socket in the abstract namespace (nothing on disk, so a read-only root
// filesystem works) that tells each sender's pid.
type notifySocket struct {
	conn *net.UnixConn
	name string // NOTIFY_SOCKET's value
}

// listenNotify opens crinit's notify socket.
func listenNotify() (*notifySocket, error) {
	name := fmt.Sprintf("@crinit-%d-notify", os.Getpid())
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notify socket %s: %w", name, err)
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("notify socket %s: %w", name, err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}); err != nil || serr != nil {
		conn.Close()
		return nil, fmt.Errorf("notify socket %s: SO_PASSCRED: %v %v", name, err, serr)
	}
	return &notifySocket{conn: conn, name: name}, nil
}

// read hands every line of every datagram to out, with its sender's pid,
// until the socket is closed or quit is.
func (n *notifySocket) read(out chan<- note, quit <-chan struct{}) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	for {
		size, oobn, _, _, err := n.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return
		}
		pid := senderPID(oob[:oobn])
		for _, line := range strings.Split(string(buf[:size]), "\n") {
			if line == "" {
				continue
			}
			select {
			case out <- note{pid: pid, msg: line}:
			case <-quit:
				return
			}
		}
	}
}

// senderPID reads the pid from a datagram's credentials; 0 when absent.
func senderPID(oob []byte) int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for i := range msgs {
		if cred, err := unix.ParseUnixCredentials(&msgs[i]); err == nil {
			return int(cred.Pid)
		}
	}
	return 0
}
