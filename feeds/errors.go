package feeds

import "errors"

var errClosed = errors.New("feeds: source is closed")
