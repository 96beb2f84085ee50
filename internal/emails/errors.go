package emails

import "errors"

var (
	// ErrUnknownEmail reports a template name that is not in Names.
	ErrUnknownEmail = errors.New("unknown email")
	// ErrTemplates reports templates or catalogs that do not parse.
	ErrTemplates = errors.New("invalid email templates")
)
