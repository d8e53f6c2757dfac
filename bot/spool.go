package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Spool keeps callbacks that arrive while Postgres is down, so that WeCom, which tries a
// callback three times within about 15 seconds and then gives up, still gets its 200: each
// message is written to its own file in Dir (fsynced, and the directory too, before the
// answer), at most MaxBytes in all, and drained into the inbox when the database is back.
// A message id already spooled is not written again (WeCom's retries), and the inbox's
// primary key drops one that also reached the database. The spool is local to one
// instance: it is drained by the instance that wrote it (on its next start if it died).
// Files hold the decrypted message, as the inbox table does: mode 0600 in a 0700 directory,
// removed once in the database.
type Spool struct {
	Dir      string
	MaxBytes int64 // default 64 MiB: about 100,000 text messages
	Log      *slog.Logger

	mu   sync.Mutex
	size int64
	init bool
}

// ErrSpoolFull is returned by Put when the spool holds MaxBytes already.
var ErrSpoolFull = errors.New("callback spool full")

// spooled is one spool file.
type spooled struct {
	Key     string          `json:"key"`
	Source  string          `json:"source"`
	Payload json.RawMessage `json:"payload"`
}

func (s *Spool) max() int64 {
	if s.MaxBytes > 0 {
		return s.MaxBytes
	}
	return 64 << 20
}

func (s *Spool) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// open creates Dir and counts what it holds; caller holds mu.
func (s *Spool) open() error {
	if s.init {
		return nil
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	files, err := s.files()
	if err != nil {
		return err
	}
	s.size = 0
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			s.size += st.Size()
		}
	}
	s.init = true
	return nil
}

func (s *Spool) files() ([]string, error) {
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(s.Dir, e.Name()))
		}
	}
	return out, nil
}

func (s *Spool) name(key string) string {
	h := sha256.Sum256([]byte(key))
	return filepath.Join(s.Dir, hex.EncodeToString(h[:16])+".json")
}

// Put writes m durably and reports whether it was new to the spool (false: already there).
func (s *Spool) Put(m Message) (bool, error) {
	m = scrub(m)
	payload, err := json.Marshal(m)
	if err != nil {
		return false, fmt.Errorf("spool: encode message: %w", err)
	}
	data, err := json.Marshal(spooled{Key: m.ID, Source: string(m.Source), Payload: payload})
	if err != nil {
		return false, fmt.Errorf("spool: encode message: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return false, err
	}
	path := s.name(m.ID)
	if _, err := os.Stat(path); err == nil {
		return false, nil
	}
	if s.size+int64(len(data)) > s.max() {
		return false, fmt.Errorf("%w (%d bytes)", ErrSpoolFull, s.max())
	}
	tmp, err := os.CreateTemp(s.Dir, ".put-*")
	if err != nil {
		return false, fmt.Errorf("spool: %w", err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = syncDir(s.Dir)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return false, fmt.Errorf("spool: write %s: %w", m.ID, err)
	}
	s.size += int64(len(data))
	return true, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Len is the number of messages waiting in the spool.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return 0
	}
	files, _ := s.files()
	return len(files)
}

// Drain moves the spooled messages into in's table, oldest first, and removes each file
// once its row is committed (or was there already). It stops at the first database error.
func (s *Spool) Drain(ctx context.Context, in *Inbox) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return 0, err
	}
	files, err := s.files()
	if err != nil {
		return 0, err
	}
	type entry struct {
		path string
		mod  time.Time
	}
	var es []entry
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			es = append(es, entry{f, st.ModTime()})
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].mod.Before(es[j].mod) })
	moved := 0
	for _, e := range es {
		data, err := os.ReadFile(e.path)
		if errors.Is(err, os.ErrNotExist) {
			continue // another process on this directory drained it
		}
		if err != nil {
			return moved, fmt.Errorf("spool: %w", err)
		}
		var sp spooled
		if err := json.Unmarshal(data, &sp); err != nil || sp.Key == "" {
			// A torn or foreign file cannot be a message we answered 200 for (those were
			// fsynced before the answer): set it aside rather than block the spool.
			s.log().ErrorContext(ctx, "spool: unreadable file set aside", "file", filepath.Base(e.path))
			os.Rename(e.path, e.path+".bad")
			s.size -= int64(len(data))
			continue
		}
		if _, err := in.insert(ctx, []*acceptReq{{key: sp.Key, source: sp.Source, payload: sp.Payload}}); err != nil {
			return moved, err
		}
		if err := os.Remove(e.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return moved, fmt.Errorf("spool: %w", err)
		}
		s.size -= int64(len(data))
		moved++
	}
	if moved > 0 {
		in.Nudge()
	}
	return moved, nil
}

// Run drains the spool into in every poll (default 2 s) until ctx ends.
func (s *Spool) Run(ctx context.Context, in *Inbox, poll time.Duration) error {
	if poll <= 0 {
		poll = 2 * time.Second
	}
	for {
		if s.Len() > 0 {
			n, err := s.Drain(ctx, in)
			if n > 0 {
				s.log().InfoContext(ctx, "spooled callbacks moved into the inbox", "count", n)
			}
			if err != nil && ctx.Err() == nil {
				s.log().WarnContext(ctx, "spool: database still unreachable", "err", err, "waiting", s.Len())
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
	}
}
