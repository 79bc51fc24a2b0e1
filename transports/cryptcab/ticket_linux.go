package cryptcab

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The ticket exchange, run over an SSH-forwarded unix socket stream: the
// client writes ticketMagic; the server answers ticketMagic, a status
// byte (0: granted; 1: refused), the ticket id (u64 little endian) and the
// 32-byte key. The SSH connection authenticated both ends (user keys,
// known_hosts) and keeps the key secret; the ticket then authenticates one
// X25519 handshake over UDP, once, within ticketTTL.
const (
	ticketMagic    = "GOVDE-CRYPTCAB1\n"
	ticketReplyLen = len(ticketMagic) + 1 + 8 + 32
	ticketTTL      = 30 * time.Second
	ticketIOLimit  = 5 * time.Second
)

// DefaultTicketSocket is where a server listening on UDP port port hands
// out tickets, and where a client asks for them by default.
func DefaultTicketSocket(port int) string {
	return "/tmp/vde_cryptcab." + strconv.Itoa(port) + ".sock"
}

// ticket is an issued, unused ticket. Guarded by engine.mu.
type ticket struct {
	key     authKey
	user    string
	created int64
}

// ticketServer accepts ticket requests on a unix socket.
type ticketServer struct {
	e    *engine
	path string
	ln   *net.UnixListener
	wg   sync.WaitGroup
	once sync.Once
}

// listenTickets creates the ticket socket. A leftover socket file nobody
// listens on is replaced; a live one is an error (another server).
func listenTickets(e *engine, path string) (*ticketServer, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("cryptcab: ticket socket %s: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("cryptcab: ticket socket %s: another server is using it", path)
		}
		os.Remove(path)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("cryptcab: ticket socket: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("cryptcab: ticket socket: %w", err)
	}
	ts := &ticketServer{e: e, path: path, ln: ln}
	ts.wg.Add(1)
	go ts.serve()
	return ts, nil
}

func (ts *ticketServer) serve() {
	defer ts.wg.Done()
	for {
		c, err := ts.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		ts.wg.Add(1)
		go func() {
			defer ts.wg.Done()
			ts.handle(c)
		}()
	}
}

// handle issues one ticket to whoever asks on this connection: the SSH
// server that forwarded it runs as the authenticated user, whose name
// (from the socket's peer credentials) goes into the logs.
func (ts *ticketServer) handle(c *net.UnixConn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(ticketIOLimit))
	var req [len(ticketMagic)]byte
	if _, err := io.ReadFull(c, req[:]); err != nil || string(req[:]) != ticketMagic {
		return
	}
	who := peerUser(c)
	var reply [ticketReplyLen]byte
	copy(reply[:], ticketMagic)
	e := ts.e
	e.mu.Lock()
	if e.closed.Load() || len(e.srv.tickets) >= maxPending {
		e.mu.Unlock()
		reply[len(ticketMagic)] = 1
		c.Write(reply[:])
		return
	}
	tk := &ticket{user: who, created: e.now()}
	rand.Read(tk.key[:])
	var id uint64
	for id = randUint64(); e.srv.tickets[id] != nil; id = randUint64() {
	}
	e.srv.tickets[id] = tk
	e.mu.Unlock()
	binary.LittleEndian.PutUint64(reply[len(ticketMagic)+1:], id)
	copy(reply[len(ticketMagic)+9:], tk.key[:])
	c.Write(reply[:])
}

// peerUser names the user at the other end of a unix socket.
func peerUser(c *net.UnixConn) string {
	rc, err := c.SyscallConn()
	if err != nil {
		return "?"
	}
	var cred *unix.Ucred
	rc.Control(func(fd uintptr) {
		cred, _ = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if cred == nil {
		return "?"
	}
	uid := strconv.Itoa(int(cred.Uid))
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return "uid " + uid
}

func (ts *ticketServer) close() {
	ts.once.Do(func() {
		ts.ln.Close()
		ts.wg.Wait()
	})
}
