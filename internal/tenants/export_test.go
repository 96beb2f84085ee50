package tenants

// ForcePipelined returns a copy of s that reads recipients as on a Redis Cluster.
func ForcePipelined(s *Store) *Store {
	c := *s
	c.split = true
	return &c
}
