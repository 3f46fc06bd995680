package observe

// Slots numbers the workers of a pool, from 1, so that each attempt's span
// says which worker ran it and a timeline can draw one lane per worker. A
// pool of n goroutines (errgroup's SetLimit(n)) takes a slot when a
// goroutine starts and puts it back when it ends; Take never blocks then.
type Slots chan int

// NewSlots returns n free slots, 1…n.
func NewSlots(n int) Slots {
	s := make(Slots, n)
	for i := 1; i <= n; i++ {
		s <- i
	}
	return s
}

// Take takes a free slot, waiting for one.
func (s Slots) Take() int { return <-s }

// Put frees slot.
func (s Slots) Put(slot int) { s <- slot }
