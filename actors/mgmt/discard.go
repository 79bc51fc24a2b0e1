package mgmt

import "bytes"

type discard struct{ b bytes.Buffer }

func (d *discard) buf() *bytes.Buffer { return &d.b }
