package ledger

import "slices"

// commitHook is one OnCommit registration.
type commitHook struct {
	id int
	fn func(ops []Op)
}

// OnCommit registers fn to be called like Config.OnCommit: by the writer, in order,
// with the operations of every journal entry once it is durable. It is for parts that
// start after Open (the websocket hub, the chain watcher's bookkeeping), which
// Config.OnCommit cannot name. fn must not block and must not change ops; it runs on
// the writer's goroutine, so a slow fn slows every write. remove ends the registration.
func (l *Ledger) OnCommit(fn func(ops []Op)) (remove func()) {
	l.hooksMu.Lock()
	defer l.hooksMu.Unlock()
	var cur []commitHook
	if p := l.hooks.Load(); p != nil {
		cur = *p
	}
	id := 1
	for _, h := range cur {
		id = max(id, h.id+1)
	}
	next := append(slices.Clone(cur), commitHook{id, fn})
	l.hooks.Store(&next)
	return func() {
		l.hooksMu.Lock()
		defer l.hooksMu.Unlock()
		cur := *l.hooks.Load()
		next := slices.DeleteFunc(slices.Clone(cur), func(h commitHook) bool { return h.id == id })
		l.hooks.Store(&next)
	}
}

// notifyCommit calls Config.OnCommit and every OnCommit registration with the
// operations of a durable entry. The registrations are read without a lock (copy on
// write), so registering never waits for the writer nor the writer for it.
func (l *Ledger) notifyCommit(ops []Op) {
	if l.cfg.OnCommit != nil {
		l.cfg.OnCommit(ops)
	}
	if p := l.hooks.Load(); p != nil {
		for _, h := range *p {
			h.fn(ops)
		}
	}
}
