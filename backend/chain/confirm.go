package chain

// Confirmations is how many blocks, counting block itself, the chain with head has
// on top of block: 1 when block is the head, 0 when the head has not reached it.
func Confirmations(block, head uint64) uint64 {
	if head < block {
		return 0
	}
	return head - block + 1
}

// Confirmed is SPEC §6's rule for crediting a payment: its block is canonical, the
// head is at least block + required - 1 (so required = 1 means "included"), and its
// receipt's status is 1. A required of 0 counts as 1: a payment is never credited
// before it is in a block.
func Confirmed(canonical bool, status, block, head, required uint64) bool {
	return canonical && status == 1 && Confirmations(block, head) >= max(required, 1)
}
