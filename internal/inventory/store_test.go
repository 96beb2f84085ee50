package inventory

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eventworker/eventworker/internal/testenv"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

const tenant = "acme"

func newClient(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// newStore returns a Store under a prefix unique to the test, whose keys are removed at the end.
func newStore(t *testing.T, o Options) (*Store, *redis.Client, string) {
	t.Helper()
	rdb, prefix := testenv.Redis(t, "test-inventory")
	return NewWithOptions(rdb, prefix, o), rdb, prefix
}

// step is one source event in a test sequence. Product events have a version >= 1 and carry a
// threshold; an order item has version 0 and takes the product's.
type step struct {
	id   string
	at   int // seconds after t0
	ver  int64
	qty  int64
	thr  int64
	item bool
}

func prod(id string, at int, ver, qty, thr int64) step {
	return step{id: id, at: at, ver: ver, qty: qty, thr: thr}
}

func item(id string, at int, qty int64) step { return step{id: id, at: at, qty: qty, item: true} }

func (st step) obs(product string) Observation {
	o := Observation{
		TenantID: tenant, ProductID: product, EventID: st.id, OccurredAt: t0.Add(time.Duration(st.at) * time.Second),
		Version: st.ver, Quantity: st.qty,
	}
	if !st.item {
		o.Product = &ProductInfo{SKU: "SKU-" + product, Name: "Name " + product, Threshold: st.thr}
	}
	return o
}

// feed observes the steps in the given order, publishing (marking) every alert at once, as the
// handler does, and returns the alerts.
func feed(t *testing.T, s *Store, product string, steps []step) []*Alert {
	t.Helper()
	ctx := context.Background()
	var out []*Alert
	for _, st := range steps {
		res, err := s.Observe(ctx, st.obs(product))
		if err != nil {
			t.Fatalf("observe %s: %v", st.id, err)
		}
		if res.Alert != nil {
			out = append(out, res.Alert)
			if err := s.MarkPublished(ctx, res.Alert); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// modelFalls counts the falls of a fully known timeline of product-only or constant-threshold
// steps: a not-low step directly followed by a low one, in (time, version, id) order.
func modelFalls(steps []step) int {
	sorted := append([]step(nil), steps...)
	key := func(st step) string { return orderKey(t0.Add(time.Duration(st.at)*time.Second), st.ver, st.id) }
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if key(sorted[j]) < key(sorted[i]) {
				sorted[i], sorted[j] = sorted[j], sorted[i]
			}
		}
	}
	thr := int64(-1)
	falls, prev := 0, "" // "" unknown, "H", "L"
	for _, st := range sorted {
		if !st.item {
			thr = st.thr
		}
		cur := "H"
		if st.qty <= thr {
			cur = "L"
		}
		if prev == "H" && cur == "L" {
			falls++
		}
		prev = cur
	}
	return falls
}

func TestSequences(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		// want lists the (quantity, threshold) of each alert, in order.
		want [][2]int64
	}{
		{"in-order fall", []step{prod("e1", 1, 1, 10, 5), prod("e2", 2, 2, 3, 5)}, [][2]int64{{3, 5}}},
		{"falls exactly to the threshold", []step{prod("e1", 1, 1, 6, 5), prod("e2", 2, 2, 5, 5)}, [][2]int64{{5, 5}}},
		{"one above the threshold is not low", []step{prod("e1", 1, 1, 10, 5), prod("e2", 2, 2, 6, 5)}, nil},
		{"stays low: one alert", []step{prod("e1", 1, 1, 10, 5), prod("e2", 2, 2, 4, 5), prod("e3", 3, 3, 2, 5), prod("e4", 4, 4, 0, 5)}, [][2]int64{{4, 5}}},
		{"restock then fall again", []step{prod("e1", 1, 1, 10, 5), prod("e2", 2, 2, 3, 5), prod("e3", 3, 3, 20, 5), prod("e4", 4, 4, 1, 5)}, [][2]int64{{3, 5}, {1, 5}}},
		{"created already low: no alert", []step{prod("e1", 1, 1, 0, 5)}, nil},
		{"created low, stays low", []step{prod("e1", 1, 1, 0, 5), prod("e2", 2, 2, 2, 5)}, nil},
		{"created low, restocked, falls", []step{prod("e1", 1, 1, 0, 5), prod("e2", 2, 2, 10, 5), prod("e3", 3, 3, 5, 5)}, [][2]int64{{5, 5}}},
		{"threshold raised above the stock", []step{prod("e1", 1, 1, 10, 5), prod("e2", 2, 2, 10, 20)}, [][2]int64{{10, 20}}},
		{"threshold lowered re-arms", []step{prod("e1", 1, 1, 10, 5), prod("e2", 2, 2, 10, 20), prod("e3", 3, 3, 10, 5), prod("e4", 4, 4, 4, 5)}, [][2]int64{{10, 20}, {4, 5}}},
		{"threshold zero", []step{prod("e1", 1, 1, 1, 0), prod("e2", 2, 2, 0, 0)}, [][2]int64{{0, 0}}},
		{"order item falls", []step{prod("e1", 1, 1, 10, 5), item("o1", 2, 4)}, [][2]int64{{4, 5}}},
		{"order item above the threshold", []step{prod("e1", 1, 1, 10, 5), item("o1", 2, 7)}, nil},
		{"order items and updates", []step{prod("e1", 1, 1, 10, 5), item("o1", 2, 4), item("o2", 3, 2), prod("e2", 4, 2, 50, 5), item("o3", 5, 5)}, [][2]int64{{4, 5}, {5, 5}}},
		{"late restock reveals a fall", []step{prod("e1", 1, 1, 10, 5), prod("e3", 3, 3, 2, 5), prod("e2", 2, 2, 9, 5)}, [][2]int64{{2, 5}}},
		{"late low between restocks", []step{prod("e1", 1, 1, 10, 5), prod("e3", 3, 3, 20, 5), prod("e2", 2, 2, 1, 5)}, [][2]int64{{1, 5}}},
		{"late earlier high before a seen fall: no second alert", []step{prod("e2", 2, 2, 10, 5), prod("e3", 3, 3, 2, 5), prod("e1", 1, 1, 30, 5)}, [][2]int64{{2, 5}}},
		{"same instant, version decides", []step{prod("e2", 1, 2, 3, 5), prod("e1", 1, 1, 10, 5)}, [][2]int64{{3, 5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := newStore(t, Options{})
			alerts := feed(t, s, "p1", tt.steps)
			var got [][2]int64
			for _, a := range alerts {
				got = append(got, [2]int64{a.Quantity, a.Threshold})
				if a.TenantID != tenant || a.ProductID != "p1" || a.SKU != "SKU-p1" || a.Name != "Name p1" {
					t.Errorf("alert %+v: wrong product data", a)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("alerts (quantity, threshold) = %v, want %v", got, tt.want)
			}
			if m := modelFalls(tt.steps); m != len(tt.want) {
				t.Errorf("test table disagrees with the model: %d falls", m)
			}
		})
	}
}

func TestAlertCarriesTheLowObservation(t *testing.T) {
	s, _, _ := newStore(t, Options{})
	// The high observation arrives last: the fall it reveals is the low one's, but the source
	// event that raised it is the late one.
	alerts := feed(t, s, "p1", []step{prod("e2", 60, 2, 3, 5), prod("e1", 30, 1, 10, 5)})
	if len(alerts) != 1 {
		t.Fatalf("alerts = %d, want 1", len(alerts))
	}
	a := alerts[0]
	want := Alert{
		EventID: AlertID("e1", "p1"), TenantID: tenant, ProductID: "p1", SKU: "SKU-p1", Name: "Name p1",
		Quantity: 3, Threshold: 5, OccurredAt: t0.Add(time.Minute),
	}
	if *a != want {
		t.Errorf("alert = %+v, want %+v", *a, want)
	}
}

// permutations calls f with every ordering of n indices.
func permutations(n int, f func([]int)) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	var rec func(k int)
	rec = func(k int) {
		if k == n {
			f(p)
			return
		}
		for i := k; i < n; i++ {
			p[k], p[i] = p[i], p[k]
			rec(k + 1)
			p[k], p[i] = p[i], p[k]
		}
	}
	rec(0)
}

// TestEveryOrderGivesTheSameAlerts is the "no false alert, no hidden alert" property: for every
// pattern of low and not-low observations, every order of delivery yields as many alerts as
// in-order delivery, and redelivering everything afterwards adds none.
func TestEveryOrderGivesTheSameAlerts(t *testing.T) {
	s, _, _ := newStore(t, Options{})
	run := 0
	check := func(t *testing.T, steps []step, fixedFirst int) {
		t.Helper()
		want := modelFalls(steps)
		inOrder := feed(t, s, fmt.Sprintf("in-order-%d", run), steps)
		run++
		if len(inOrder) != want {
			t.Fatalf("in order: %d alerts, the model says %d (%v)", len(inOrder), want, steps)
		}
		permutations(len(steps)-fixedFirst, func(p []int) {
			order := append([]step(nil), steps[:fixedFirst]...)
			for _, i := range p {
				order = append(order, steps[fixedFirst+i])
			}
			product := fmt.Sprintf("perm-%d", run)
			run++
			got := feed(t, s, product, order)
			if len(got) != want {
				t.Fatalf("order %v: %d alerts, in order %d", ids(order), len(got), want)
			}
			seen := map[string]bool{}
			for _, a := range got {
				if a.Quantity > a.Threshold || seen[a.EventID] {
					t.Fatalf("order %v: alert %+v is not a distinct low observation", ids(order), a)
				}
				seen[a.EventID] = true
			}
			if again := feed(t, s, product, order); len(again) != 0 {
				t.Fatalf("order %v: redelivery raised %d alerts", ids(order), len(again))
			}
		})
	}
	// lowAt builds product events from a pattern: bit i set means the i-th is low (qty <= thr);
	// thresholds vary from event to event.
	lowAt := func(n, pattern int) []step {
		var steps []step
		for i := range n {
			qty, thr := int64(10+i), int64(5+i)
			if pattern&(1<<i) != 0 {
				qty = int64(i)
			}
			steps = append(steps, prod(fmt.Sprintf("e%d", i), i+1, int64(i+1), qty, thr))
		}
		return steps
	}
	// Every pattern of four product events, and five-event patterns with two falls or a fall
	// behind a low start (bit 0 is the first event).
	for pattern := range 1 << 4 {
		check(t, lowAt(4, pattern), 0)
	}
	for _, pattern := range []int{0b11010, 0b01010, 0b11100, 0b11001, 0b10110, 0b01101} {
		check(t, lowAt(5, pattern), 0)
	}
	// Order items among product events. The product is created first (an item needs it) and the
	// threshold stays 5, since an item takes the threshold seen when it is handled.
	for pattern := range 1 << 4 {
		steps := []step{prod("c", 0, 1, 10, 5)}
		for i := range 4 {
			qty := int64(10 + i)
			if pattern&(1<<i) != 0 {
				qty = int64(i)
			}
			if i%2 == 0 {
				steps = append(steps, item(fmt.Sprintf("o%d", i), i+1, qty))
			} else {
				steps = append(steps, prod(fmt.Sprintf("e%d", i), i+1, int64(i+1), qty, 5))
			}
		}
		check(t, steps, 1)
	}
}

func ids(steps []step) []string {
	var out []string
	for _, st := range steps {
		out = append(out, st.id)
	}
	return out
}

func TestRedeliveryRaisesNothing(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t, Options{})
	steps := []step{prod("e1", 1, 1, 10, 5), prod("e2", 2, 2, 3, 5), item("o1", 3, 9), item("o2", 4, 1)}
	total := 0
	for _, st := range steps {
		total += len(feed(t, s, "p1", []step{st}))
		res, err := s.Observe(ctx, st.obs("p1"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != Duplicate || res.Alert != nil {
			t.Errorf("redelivery of %s: %v with alert %v, want duplicate without alert", st.id, res.Outcome, res.Alert)
		}
	}
	if total != 2 {
		t.Errorf("alerts = %d, want 2", total)
	}
}

func TestPendingAlertReturnedUntilMarked(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t, Options{})
	feed(t, s, "p1", []step{prod("e1", 1, 1, 10, 5)})
	fall := prod("e2", 2, 2, 3, 5).obs("p1")
	first, err := s.Observe(ctx, fall)
	if err != nil || first.Outcome != Recorded || first.Alert == nil {
		t.Fatalf("first observe: %+v, %v", first, err)
	}
	// While the first delivery holds its claim, another delivery of the event is told so and
	// does not get the alert.
	busy, err := s.Observe(ctx, fall)
	if err != nil || busy.Outcome != Duplicate || busy.Alert != nil || !busy.Claimed {
		t.Fatalf("concurrent delivery: %+v, %v; want duplicate, claimed, no alert", busy, err)
	}
	// The publish failed and the claim was released; the retry finds the same alert.
	for range 2 {
		if err := s.ReleaseClaim(ctx, first.Alert); err != nil {
			t.Fatal(err)
		}
		again, err := s.Observe(ctx, fall)
		if err != nil || again.Outcome != Duplicate || again.Alert == nil || *again.Alert != *first.Alert || again.Claimed {
			t.Fatalf("retry: %+v, %v; want the pending alert %+v", again, err, first.Alert)
		}
	}
	if first.Alert.EventID != AlertID("e2", "p1") {
		t.Errorf("alert id %s, want AlertID(e2, p1)", first.Alert.EventID)
	}
	if err := s.MarkPublished(ctx, first.Alert); err != nil {
		t.Fatal(err)
	}
	after, err := s.Observe(ctx, fall)
	if err != nil || after.Alert != nil {
		t.Errorf("after MarkPublished: %+v, %v; want no alert", after, err)
	}
}

func TestOrderItemForUnknownProductIsSkipped(t *testing.T) {
	ctx := context.Background()
	s, rdb, prefix := newStore(t, Options{})
	res, err := s.Observe(ctx, item("o1", 1, 0).obs("p1"))
	if err != nil || res.Outcome != UnknownProduct || res.Alert != nil {
		t.Fatalf("item of an unknown product: %+v, %v", res, err)
	}
	if keys, _ := rdb.Keys(ctx, prefix+"*").Result(); len(keys) != 0 {
		t.Errorf("a skipped item left keys: %v", keys)
	}
	// The product arrives later, low: its first known state, so no alert either.
	if got := feed(t, s, "p1", []step{prod("e1", 2, 1, 2, 5)}); len(got) != 0 {
		t.Errorf("alerts = %d, want 0", len(got))
	}
}

func TestOrderItemTakesNameSKUAndThresholdOfTheLatestVersion(t *testing.T) {
	s, _, _ := newStore(t, Options{})
	// Version 2 arrives before version 1: the item must still use version 2's data.
	v2 := prod("e2", 2, 2, 50, 8).obs("p1")
	v2.Product.Name, v2.Product.SKU = "New name", "SKU-NEW"
	ctx := context.Background()
	if _, err := s.Observe(ctx, v2); err != nil {
		t.Fatal(err)
	}
	alerts := feed(t, s, "p1", []step{prod("e1", 1, 1, 50, 3), item("o1", 3, 7)})
	if len(alerts) != 1 {
		t.Fatalf("alerts = %d, want 1", len(alerts))
	}
	if a := alerts[0]; a.Name != "New name" || a.SKU != "SKU-NEW" || a.Threshold != 8 || a.Quantity != 7 {
		t.Errorf("alert %+v, want version 2's name, sku and threshold 8", a)
	}
}

func TestTrimming(t *testing.T) {
	ctx := context.Background()
	s, rdb, _ := newStore(t, Options{MaxObservations: 2, TTL: time.Hour})
	// H L L: one fall. With two kept, e1 (not low) is trimmed and becomes the floor.
	alerts := feed(t, s, "p1", []step{prod("e1", 10, 1, 10, 5), prod("e2", 20, 2, 2, 5), prod("e3", 30, 3, 1, 5)})
	if len(alerts) != 1 {
		t.Fatalf("alerts = %d, want 1", len(alerts))
	}
	keys := s.keys(tenant, "p1")
	if n, _ := rdb.ZCard(ctx, keys[0]).Result(); n != 2 {
		t.Errorf("timeline holds %d observations, want 2", n)
	}
	if n, _ := rdb.HLen(ctx, keys[1]).Result(); n != 2 {
		t.Errorf("observation hash holds %d entries, want 2", n)
	}
	// Older than the floor: too late to place, ignored even though it would reveal a fall.
	res, err := s.Observe(ctx, prod("e0", 5, 1, 50, 5).obs("p1"))
	if err != nil || res.Outcome != TooLate || res.Alert != nil {
		t.Errorf("observation before the floor: %+v, %v; want too late", res, err)
	}
	res, err = s.Observe(ctx, prod("e1", 10, 1, 10, 5).obs("p1"))
	if err != nil || res.Outcome != TooLate {
		t.Errorf("redelivery of a trimmed observation: %+v, %v; want too late", res, err)
	}
	// Between the floor and the oldest kept observation the floor stands in as predecessor: a
	// not-low x only moves the fall e1 -> e2 to x -> e2, and a low z after x is the same fall
	// again. Without the floor's state x would look like a new fall from above.
	for _, st := range []step{prod("x", 15, 1, 40, 5), prod("z", 17, 1, 3, 5)} {
		res, err := s.Observe(ctx, st.obs("p1"))
		if err != nil || res.Outcome != Recorded || res.Alert != nil {
			t.Errorf("%s after the floor: %+v, %v; want recorded without alert", st.id, res, err)
		}
	}
	// The floor is now z (low); a restock w before e2 reveals a real second fall, w -> e2.
	got := feed(t, s, "p1", []step{prod("w", 18, 1, 40, 5)})
	if len(got) != 1 || got[0].Quantity != 2 || got[0].EventID != AlertID("w", "p1") {
		t.Errorf("restock behind the floor: alerts %v, want one with e2's quantity 2", got)
	}
	for _, k := range []string{keys[0], keys[1], keys[3]} {
		if ttl, _ := rdb.PTTL(ctx, k).Result(); ttl <= 0 || ttl > time.Hour {
			t.Errorf("%s: TTL %v, want at most an hour", k, ttl)
		}
	}
}

func TestKeysLiveInTheWorkersNamespace(t *testing.T) {
	ctx := context.Background()
	s, rdb, prefix := newStore(t, Options{})
	// Tenant "a:b" with product "c" and tenant "a" with product "b:c" must not share state.
	for _, o := range []Observation{
		{TenantID: "a:b", ProductID: "c", EventID: "e1", OccurredAt: t0, Version: 1, Quantity: 10, Product: &ProductInfo{SKU: "s", Name: "n", Threshold: 5}},
		{TenantID: "a", ProductID: "b:c", EventID: "e2", OccurredAt: t0.Add(time.Second), Version: 1, Quantity: 1, Product: &ProductInfo{SKU: "s", Name: "n", Threshold: 5}},
	} {
		res, err := s.Observe(ctx, o)
		if err != nil || res.Outcome != Recorded || res.Alert != nil {
			t.Errorf("%s/%s: %+v, %v; want recorded without alert", o.TenantID, o.ProductID, res, err)
		}
	}
	keys, err := rdb.Keys(ctx, prefix+"*").Result() // a tiny test keyspace; KEYS is fine here
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 6 {
		t.Errorf("keys = %v, want timeline, observations and product of two products", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix+"eventworker:inventory:{") || strings.HasPrefix(k, prefix+"tenant:") {
			t.Errorf("key %q is outside the worker's inventory namespace", k)
		}
	}
}

func TestQuantitiesCompareExactly(t *testing.T) {
	s, _, _ := newStore(t, Options{})
	// As doubles both are 2^53; as integers the first is above the threshold.
	const thr = 1 << 53
	if got := feed(t, s, "p1", []step{prod("e1", 1, 1, 100, 5), prod("e2", 2, 2, thr+1, thr)}); len(got) != 0 {
		t.Errorf("quantity one above a huge threshold raised %d alerts", len(got))
	}
	if got := feed(t, s, "p1", []step{prod("e3", 3, 3, thr, thr)}); len(got) != 1 || got[0].Quantity != thr {
		t.Errorf("quantity at a huge threshold: alerts %v, want one with quantity %d", got, int64(thr))
	}
}

// TestReplicasConcurrently feeds the same events to two Stores on separate connections at the
// same time, in opposite orders, as two worker replicas would see redeliveries.
func TestReplicasConcurrently(t *testing.T) {
	a, _, prefix := newStore(t, Options{})
	rdbB := newClient(t)
	b := New(rdbB, prefix)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		product := fmt.Sprintf("p%d", round)
		var steps []step
		for i := range 12 {
			qty := int64(rng.IntN(12))
			steps = append(steps, prod(fmt.Sprintf("r%d-e%d", round, i), i+1, int64(i+1), qty, 5))
		}
		want := modelFalls(steps)
		shuffled := append([]step(nil), steps...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })

		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for _, w := range []struct {
			s     *Store
			steps []step
		}{{a, steps}, {b, shuffled}} {
			wg.Go(func() {
				for _, al := range feed(t, w.s, product, w.steps) {
					mu.Lock()
					seen[al.EventID]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != want {
			t.Errorf("round %d: %d distinct alerts, in order %d (%v)", round, len(seen), want, seen)
		}
		for id, n := range seen {
			// Each replica may publish a pending alert once; consumers drop the copy by event_id.
			if n > 2 {
				t.Errorf("round %d: alert %s returned %d times", round, id, n)
			}
		}
		if n, _ := a.rdb.HLen(context.Background(), a.keys(tenant, product)[2]).Result(); n != 0 {
			t.Errorf("round %d: %d alerts still pending after all were published", round, n)
		}
	}
}

func TestAlertID(t *testing.T) {
	id := AlertID("3f2b8c1e-5d4a-4e7b-9c2f-1a0b9d8e7f61", "p1")
	if id != AlertID("3f2b8c1e-5d4a-4e7b-9c2f-1a0b9d8e7f61", "p1") {
		t.Error("AlertID is not deterministic")
	}
	if id == AlertID("3f2b8c1e-5d4a-4e7b-9c2f-1a0b9d8e7f61", "p2") || id == AlertID("3f2b8c1e-5d4a-4e7b-9c2f-1a0b9d8e7f62", "p1") {
		t.Error("AlertID collides across products or events")
	}
	if id[14] != '5' {
		t.Errorf("AlertID %s is not a UUID v5", id)
	}
}

func TestOrderKey(t *testing.T) {
	k1 := orderKey(t0, 2, "b")
	k2 := orderKey(t0.Add(time.Nanosecond), 1, "a")
	k3 := orderKey(t0.Add(time.Nanosecond), 10, "a")
	if !(k1 < k2 && k2 < k3) {
		t.Errorf("keys out of order: %s %s %s", k1, k2, k3)
	}
	if k := orderKey(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), 0, "x"); !strings.HasPrefix(k, strings.Repeat("0", 20)+":") {
		t.Errorf("a time before 1970 gives %q, want the zero stamp", k)
	}
	loc := time.FixedZone("X", 3600)
	if orderKey(t0.In(loc), 1, "a") != orderKey(t0, 1, "a") {
		t.Error("the key depends on the time zone")
	}
}

func TestInvalidObservations(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t, Options{})
	good := prod("e1", 1, 1, 10, 5).obs("p1")
	for name, mutate := range map[string]func(*Observation){
		"no tenant":          func(o *Observation) { o.TenantID = "" },
		"no product":         func(o *Observation) { o.ProductID = "" },
		"no event":           func(o *Observation) { o.EventID = "" },
		"negative quantity":  func(o *Observation) { o.Quantity = -1 },
		"negative version":   func(o *Observation) { o.Version = -1 },
		"negative threshold": func(o *Observation) { o.Product = &ProductInfo{Threshold: -1} },
	} {
		o := good
		mutate(&o)
		if _, err := s.Observe(ctx, o); !errors.Is(err, ErrInvalidObservation) {
			t.Errorf("%s: err = %v, want ErrInvalidObservation", name, err)
		}
	}
}

func TestRedisDown(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer rdb.Close()
	s := New(rdb, "x:")
	ctx := context.Background()
	if _, err := s.Observe(ctx, prod("e1", 1, 1, 1, 5).obs("p1")); err == nil || !strings.Contains(err.Error(), "record stock of product p1") {
		t.Errorf("Observe with Redis down: %v, want an error naming the product", err)
	}
	if err := s.MarkPublished(ctx, &Alert{EventID: "a", TenantID: "t", ProductID: "p"}); err == nil {
		t.Error("MarkPublished with Redis down: want an error")
	}
}

func TestPendingAlertOutlivesTrimming(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t, Options{MaxObservations: 2})
	feed(t, s, "p1", []step{prod("e1", 1, 1, 10, 5)})
	fall := prod("e2", 2, 2, 3, 5).obs("p1")
	first, err := s.Observe(ctx, fall)
	if err != nil || first.Alert == nil {
		t.Fatalf("fall: %+v, %v", first, err)
	}
	// Newer events push the unpublished fall out of the timeline before its retry comes.
	feed(t, s, "p1", []step{prod("e3", 3, 3, 2, 5), prod("e4", 4, 4, 1, 5)})
	if err := s.ReleaseClaim(ctx, first.Alert); err != nil {
		t.Fatal(err)
	}
	retry, err := s.Observe(ctx, fall)
	if err != nil || retry.Outcome != TooLate || retry.Alert == nil || *retry.Alert != *first.Alert {
		t.Errorf("retry after trimming: %+v, %v; want too late with the pending alert", retry, err)
	}
}

// TestClaimEnds: a delivery that got an alert and died (no MarkPublished, no ReleaseClaim)
// keeps it from the others only until its claim ends.
func TestClaimEnds(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t, Options{ClaimTTL: 300 * time.Millisecond})
	feed(t, s, "p1", []step{prod("e1", 1, 1, 10, 5)})
	fall := prod("e2", 2, 2, 3, 5).obs("p1")
	if first, err := s.Observe(ctx, fall); err != nil || first.Alert == nil {
		t.Fatalf("fall: %+v, %v", first, err)
	}
	if busy, err := s.Observe(ctx, fall); err != nil || !busy.Claimed || busy.Alert != nil {
		t.Fatalf("within the claim: %+v, %v; want claimed", busy, err)
	}
	time.Sleep(400 * time.Millisecond)
	if later, err := s.Observe(ctx, fall); err != nil || later.Claimed || later.Alert == nil {
		t.Fatalf("after the claim: %+v, %v; want the alert", later, err)
	}
}
