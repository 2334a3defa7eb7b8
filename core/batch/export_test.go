package batch

// pendingCount reports items handed to the loop and not yet dispatched
// (test hook: lets Close tests wait until items are queued).
func (b *Batcher[In, Out]) pendingCount() int {
	b.statsMu.Lock()
	defer b.statsMu.Unlock()
	return b.queued
}
