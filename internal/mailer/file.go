package mailer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// maxNameLen keeps a file name, with its hash and extension, under the usual 255-byte limit.
const maxNameLen = 180

// fileSender writes each email as DIR/<Message-ID>.eml, for development and tests.
type fileSender struct {
	dir string
}

// openFile creates the directory, so that a typo shows at start and not at the first email.
func openFile(ep *endpoint) (*fileSender, error) {
	if err := os.MkdirAll(ep.dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating the mail directory %q of EVENTWORKER_MAIL_URL: %w", ep.dir, err)
	}
	return &fileSender{dir: ep.dir}, nil
}

// deliver writes the email to a temporary file in the directory and renames it into place, so
// that a reader never sees half an email and a resend replaces the file whole.
func (f *fileSender) deliver(ctx context.Context, m *Message, msg *mail.Msg) (time.Duration, error) {
	return 0, f.write(ctx, m, msg)
}

// write stores the email as its file.
func (f *fileSender) write(ctx context.Context, m *Message, msg *mail.Msg) (err error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("writing email: %w", err)
	}
	path := filepath.Join(f.dir, emlName(m.MessageID))
	tmp, err := os.CreateTemp(f.dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("writing email %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	_, werr := msg.WriteTo(tmp)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("writing email %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing email %s: %w", path, err)
	}
	// Make the rename durable; a directory that cannot be synced (some file systems) is no error.
	if d, err := os.Open(f.dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

func (f *fileSender) close() error { return nil }

// emlName is the file name of a Message-ID: the ID itself when it is made of safe characters
// only, else the ID with the others replaced and a hash of the whole ID appended, so that two
// IDs never share a file and one ID always maps to the same file.
func emlName(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '@', c == '+', c == '=', c == '.' && i > 0:
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	name := b.String()
	if name != id || len(name) > maxNameLen {
		sum := sha256.Sum256([]byte(id))
		name = name[:min(len(name), maxNameLen)] + "-" + hex.EncodeToString(sum[:6])
	}
	return name + ".eml"
}
