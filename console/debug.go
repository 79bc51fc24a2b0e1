package console

import (
	"fmt"
	"strings"
	"sync"
	"syscall"
)

// Category is one debug category of debug/list.
type Category struct {
	Path string
	Tag  int // printed in octal
	Help string
}

// Hub fans debug events out to the sessions subscribed to their category
// (debug/add, debug/del). OnChange is called with the set of categories
// someone listens to after every change, so the producers can stay silent
// when nobody does.
type Hub struct {
	mu       sync.Mutex
	cats     []Category
	subs     map[string]map[*Session]bool
	OnChange func(active map[string]bool)
}

// NewHub returns a hub for the given categories (debug/list order).
func NewHub(cats ...Category) *Hub {
	return &Hub{cats: cats, subs: map[string]map[*Session]bool{}}
}

// AddCategories appends categories (plugins).
func (h *Hub) AddCategories(cats ...Category) {
	h.mu.Lock()
	h.cats = append(h.cats, cats...)
	h.mu.Unlock()
}

// RemoveCategories drops the categories under prefix and their listeners.
func (h *Hub) RemoveCategories(prefix string) {
	h.mu.Lock()
	out := h.cats[:0]
	for _, c := range h.cats {
		if strings.HasPrefix(c.Path, prefix+"/") {
			delete(h.subs, c.Path)
			continue
		}
		out = append(out, c)
	}
	h.cats = out
	h.mu.Unlock()
	h.changed()
}

// Publish sends `3TAG category text` to every session listening to
// category. It never blocks.
func (h *Hub) Publish(category, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	listeners := h.subs[category]
	if len(listeners) == 0 {
		return
	}
	tag := 0
	for _, c := range h.cats {
		if c.Path == category {
			tag = c.Tag
		}
	}
	line := fmt.Sprintf("3%03o %s %s\n", tag, category, text)
	for s := range listeners {
		s.notify(line)
	}
}

func (h *Hub) changed() {
	if h.OnChange == nil {
		return
	}
	h.mu.Lock()
	active := map[string]bool{}
	for c, l := range h.subs {
		if len(l) > 0 {
			active[c] = true
		}
	}
	h.mu.Unlock()
	h.OnChange(active)
}

// List writes debug/list for s (rows whose path starts with prefix).
func (h *Hub) List(c *Ctx, s *Session, prefix string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.Printf("%-22s %-3s %-6s %s", "CATEGORY", "TAG", "STATUS", "HELP")
	c.Printf("%-22s %-3s %-6s %s", "------------", "---", "------", "----")
	n := 0
	for _, cat := range h.cats {
		if !strings.HasPrefix(cat.Path, prefix) {
			continue
		}
		status := "OFF"
		if h.subs[cat.Path][s] {
			status = "ON"
		}
		c.Printf("%-22s %03o %-6s %s", cat.Path, cat.Tag, status, cat.Help)
		n++
	}
	if n == 0 {
		return syscall.ENOENT
	}
	return nil
}

// Subscribe implements debug/add (add true) and debug/del (add false).
func (h *Hub) Subscribe(s *Session, prefix string, add bool) error {
	h.mu.Lock()
	matched, changed := 0, 0
	for _, cat := range h.cats {
		if !strings.HasPrefix(cat.Path, prefix) {
			continue
		}
		matched++
		l := h.subs[cat.Path]
		if l == nil {
			l = map[*Session]bool{}
			h.subs[cat.Path] = l
		}
		if l[s] != add {
			changed++
			if add {
				l[s] = true
			} else {
				delete(l, s)
			}
		}
	}
	h.mu.Unlock()
	switch {
	case matched == 0:
		return syscall.EINVAL
	case changed == 0 && add:
		return syscall.EEXIST
	case changed == 0:
		return syscall.ENOENT
	}
	h.changed()
	return nil
}

func (h *Hub) unsubscribeAll(s *Session) {
	h.mu.Lock()
	for _, l := range h.subs {
		delete(l, s)
	}
	h.mu.Unlock()
	h.changed()
}
