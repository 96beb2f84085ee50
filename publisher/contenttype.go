package publisher

// The content type and encoding of every event body, as the contract has them.
const (
	ContentType     = "application/json"
	ContentEncoding = "utf-8"
)
