package ledger

import (
	"encoding/binary"
	"errors"
)

// UsageLog is an account's debits, in order. Snapshots hold millions of them, so it
// writes itself for gob in a compact form of its own — varints, and the few strings
// that repeat (kinds, services, units) written once per log — which gob's
// reflection would otherwise spend most of a snapshot's time on.
type UsageLog []Usage

// GobEncode implements gob.GobEncoder.
func (l UsageLog) GobEncode() ([]byte, error) {
	b := binary.AppendUvarint(make([]byte, 0, 64*len(l)+8), uint64(len(l)))
	table := map[string]uint64{}
	ref := func(s string) {
		if i, ok := table[s]; ok {
			b = binary.AppendUvarint(b, i)
			return
		}
		table[s] = uint64(len(table))
		b = binary.AppendUvarint(b, uint64(len(table)-1))
		b = appendString(b, s)
	}
	for _, u := range l {
		b = appendString(b, u.ID)
		ref(u.Kind)
		ref(u.Service)
		ref(u.Units)
		b = binary.AppendVarint(b, u.Credits)
		b = binary.AppendVarint(b, u.At)
		b = appendString(b, u.Idem)
		b = binary.AppendUvarint(b, u.FP)
		b = binary.AppendVarint(b, u.Balance)
	}
	return b, nil
}

// GobDecode implements gob.GobDecoder.
func (l *UsageLog) GobDecode(data []byte) error {
	r := usageReader{b: data}
	n := r.uvarint()
	if n > uint64(len(data)) {
		return errUsageLog
	}
	out := make(UsageLog, n)
	var table []string
	ref := func() string {
		i := r.uvarint()
		switch {
		case i < uint64(len(table)):
			return table[i]
		case i == uint64(len(table)):
			s := r.string()
			table = append(table, s)
			return s
		}
		r.err = errUsageLog
		return ""
	}
	for i := range out {
		u := &out[i]
		u.ID = r.string()
		u.Kind, u.Service, u.Units = ref(), ref(), ref()
		u.Credits, u.At = r.varint(), r.varint()
		u.Idem = r.string()
		u.FP = r.uvarint()
		u.Balance = r.varint()
		if r.err != nil {
			return r.err
		}
	}
	*l = out
	return nil
}

var errUsageLog = errors.New("ledger: a usage log in the snapshot is damaged")

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

type usageReader struct {
	b   []byte
	err error
}

func (r *usageReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = errUsageLog, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *usageReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err, r.b = errUsageLog, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *usageReader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err, r.b = errUsageLog, nil
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
