package vnl

import (
	"os"
	"os/user"
	"strconv"
	"strings"
)

// MaxDescr is the longest description libvdeplug passes on (MAXDESCR - 1).
const MaxDescr = 127

// Description returns the description libvdeplug 4.0.1 builds from the
// caller's: "<descr> user=<name> pid=<pid>", plus " SSH=<first word of
// $SSH_CLIENT>" when that variable is set, truncated to MaxDescr bytes.
// The user is the effective user's name, or its number when it has none.
func Description(descr string) string {
	var b strings.Builder
	b.WriteString(descr)
	b.WriteString(" user=")
	uid := strconv.Itoa(os.Geteuid())
	if u, err := user.LookupId(uid); err == nil && u.Username != "" {
		b.WriteString(u.Username)
	} else {
		b.WriteString(uid)
	}
	b.WriteString(" pid=")
	b.WriteString(strconv.Itoa(os.Getpid()))
	if ssh, ok := os.LookupEnv("SSH_CLIENT"); ok {
		first, _, _ := strings.Cut(ssh, " ")
		b.WriteString(" SSH=")
		b.WriteString(first)
	}
	s := b.String()
	if len(s) > MaxDescr {
		s = s[:MaxDescr]
	}
	return s
}
