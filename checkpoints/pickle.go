package checkpoints

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// This file is a pickle virtual machine restricted to what torch.save emits.
// It executes no code: GLOBAL / STACK_GLOBAL resolve only names in
// allowedGlobals, and REDUCE / NEWOBJ / BUILD only act on those.

// pyTuple, pyList and pyDict are the container values of the machine.
type pyTuple []any

type pyList struct{ items []any }

type pyDict struct {
	keys  []any
	vals  []any
	index map[any]int
	attrs *pyDict // state set by BUILD (e.g. a state dict's _metadata)
}

func newDict() *pyDict { return &pyDict{index: map[any]int{}} }

func (d *pyDict) set(k, v any) error {
	switch k.(type) {
	case string, int64, float64, bool, nil:
	default:
		return fmt.Errorf("dict key of type %s is not supported", typeName(k))
	}
	if i, ok := d.index[k]; ok {
		d.vals[i] = v
		return nil
	}
	d.index[k] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	return nil
}

// pyGlobal is an allowed global, resolved by GLOBAL / STACK_GLOBAL.
type pyGlobal struct{ module, name string }

func (g pyGlobal) String() string { return g.module + "." + g.name }

// storageRef is what a persistent id resolves to: a typed storage.
type storageRef struct {
	key   string
	dtype DType
	numel int64
	data  []byte // filled by the loader, len = numel·dtype.Size()
}

// pyTensor is a rebuilt tensor: a strided view of a storage.
type pyTensor struct {
	storage *storageRef
	offset  int64
	shape   []int
	stride  []int64
}

// storageDTypes maps torch storage classes to element types.
var storageDTypes = map[string]DType{
	"torch.FloatStorage":    F32,
	"torch.HalfStorage":     F16,
	"torch.BFloat16Storage": BF16,
	"torch.DoubleStorage":   F64,
	"torch.LongStorage":     I64,
	"torch.IntStorage":      I32,
	"torch.ShortStorage":    I16,
	"torch.CharStorage":     I8,
	"torch.ByteStorage":     U8,
	"torch.BoolStorage":     Bool,
}

// allowedGlobals lists every global the machine resolves besides the
// storage classes above.
var allowedGlobals = map[string]bool{
	"collections.OrderedDict":                    true,
	"torch._utils._rebuild_tensor":               true,
	"torch._utils._rebuild_tensor_v2":            true,
	"torch._utils._rebuild_parameter":            true,
	"torch._utils._rebuild_parameter_with_state": true,
	"torch._tensor._rebuild_from_type_v2":        true,
	"torch.Tensor":                               true,
	"torch.nn.parameter.Parameter":               true,
}

// persistentLoader resolves a persistent id tuple to a value.
type persistentLoader func(pid any) (any, error)

type unpickler struct {
	data    []byte
	pos     int
	stack   []any
	marks   []int
	memo    map[int64]any
	persist persistentLoader
}

// maxMemo bounds memo indices (a hostile LONG_BINPUT cannot allocate).
const maxMemo = 1 << 31

// unpickle runs the machine over data until STOP and returns the result and
// the number of bytes consumed.
func unpickle(data []byte, persist persistentLoader) (any, int, error) {
	u := &unpickler{data: data, memo: map[int64]any{}, persist: persist}
	v, err := u.run()
	if err != nil {
		return nil, u.pos, err
	}
	return v, u.pos, nil
}

func (u *unpickler) errorf(at int, format string, args ...any) error {
	return fmt.Errorf("pickle byte %d: %s", at, fmt.Sprintf(format, args...))
}

func (u *unpickler) read(n int) ([]byte, error) {
	if n < 0 || n > len(u.data)-u.pos {
		return nil, fmt.Errorf("truncated: need %d bytes, %d left", n, len(u.data)-u.pos)
	}
	b := u.data[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

func (u *unpickler) readLine() (string, error) {
	for i := u.pos; i < len(u.data); i++ {
		if u.data[i] == '\n' {
			s := string(u.data[u.pos:i])
			u.pos = i + 1
			return s, nil
		}
	}
	return "", fmt.Errorf("truncated: no end of line")
}

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, fmt.Errorf("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, fmt.Errorf("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark pops everything above the last MARK and the mark itself.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, fmt.Errorf("no MARK on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) run() (any, error) {
	for {
		at := u.pos
		if u.pos >= len(u.data) {
			return nil, u.errorf(at, "truncated: no STOP opcode")
		}
		op := u.data[u.pos]
		u.pos++
		if err := u.step(op); err != nil {
			if err == errStop {
				v, err := u.pop()
				if err != nil {
					return nil, u.errorf(at, "STOP: %v", err)
				}
				return v, nil
			}
			return nil, u.errorf(at, "opcode %s: %v", opName(op), err)
		}
	}
}

var errStop = fmt.Errorf("stop")

func opName(op byte) string {
	if op >= 0x20 && op < 0x7f {
		return fmt.Sprintf("%q (0x%02x)", rune(op), op)
	}
	return fmt.Sprintf("0x%02x", op)
}

func (u *unpickler) step(op byte) error {
	switch op {
	case 0x80: // PROTO
		b, err := u.read(1)
		if err != nil {
			return err
		}
		if b[0] > 5 {
			return fmt.Errorf("unsupported protocol %d", b[0])
		}
	case 0x95: // FRAME: an 8-byte length; frames are transparent here
		if _, err := u.read(8); err != nil {
			return err
		}
	case '.': // STOP
		return errStop
	case '(': // MARK
		u.marks = append(u.marks, len(u.stack))
	case '0': // POP
		if len(u.stack) > 0 && (len(u.marks) == 0 || len(u.stack) > u.marks[len(u.marks)-1]) {
			u.stack = u.stack[:len(u.stack)-1]
			return nil
		}
		if len(u.marks) > 0 && len(u.stack) == u.marks[len(u.marks)-1] {
			u.marks = u.marks[:len(u.marks)-1] // pops a mark, like CPython
			return nil
		}
		return fmt.Errorf("stack underflow")
	case '1': // POP_MARK
		_, err := u.popMark()
		return err
	case '2': // DUP
		v, err := u.top()
		if err != nil {
			return err
		}
		u.push(v)
	case 'N':
		u.push(nil)
	case 0x88:
		u.push(true)
	case 0x89:
		u.push(false)
	case '}':
		u.push(newDict())
	case ']':
		u.push(&pyList{})
	case ')':
		u.push(pyTuple{})
	case 0x8f: // EMPTY_SET: a list stands in for it
		u.push(&pyList{})
	case 'J':
		b, err := u.read(4)
		if err != nil {
			return err
		}
		u.push(int64(int32(binary.LittleEndian.Uint32(b))))
	case 'K':
		b, err := u.read(1)
		if err != nil {
			return err
		}
		u.push(int64(b[0]))
	case 'M':
		b, err := u.read(2)
		if err != nil {
			return err
		}
		u.push(int64(binary.LittleEndian.Uint16(b)))
	case 0x8a, 0x8b: // LONG1, LONG4
		var n int
		if op == 0x8a {
			b, err := u.read(1)
			if err != nil {
				return err
			}
			n = int(b[0])
		} else {
			b, err := u.read(4)
			if err != nil {
				return err
			}
			n = int(int32(binary.LittleEndian.Uint32(b)))
		}
		b, err := u.read(n)
		if err != nil {
			return err
		}
		v, err := decodeLong(b)
		if err != nil {
			return err
		}
		u.push(v)
	case 'I', 'L': // INT, LONG (text)
		s, err := u.readLine()
		if err != nil {
			return err
		}
		s = strings.TrimSuffix(s, "L")
		switch s {
		case "00":
			u.push(false)
			return nil
		case "01":
			u.push(true)
			return nil
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("bad integer %q", s)
		}
		u.push(v)
	case 'G':
		b, err := u.read(8)
		if err != nil {
			return err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'F':
		s, err := u.readLine()
		if err != nil {
			return err
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("bad float %q", s)
		}
		u.push(v)
	case 'X', 0x8c, 0x8d, 'T', 'U', 'B', 'C', 0x8e: // strings and bytes
		var n uint64
		switch op {
		case 0x8c, 'U', 'C':
			b, err := u.read(1)
			if err != nil {
				return err
			}
			n = uint64(b[0])
		case 'X', 'T', 'B':
			b, err := u.read(4)
			if err != nil {
				return err
			}
			n = uint64(binary.LittleEndian.Uint32(b))
			if op == 'T' && int32(n) < 0 {
				return fmt.Errorf("negative string length")
			}
		default:
			b, err := u.read(8)
			if err != nil {
				return err
			}
			n = binary.LittleEndian.Uint64(b)
		}
		if n > uint64(len(u.data)-u.pos) {
			return fmt.Errorf("truncated: length %d, %d bytes left", n, len(u.data)-u.pos)
		}
		b, _ := u.read(int(n))
		switch op {
		case 'B', 'C', 0x8e:
			u.push(append([]byte(nil), b...))
		default:
			u.push(string(b))
		}
	case 'V': // UNICODE (text, raw-unicode-escape; ASCII is all torch uses)
		s, err := u.readLine()
		if err != nil {
			return err
		}
		u.push(s)
	case 'c': // GLOBAL
		mod, err := u.readLine()
		if err != nil {
			return err
		}
		name, err := u.readLine()
		if err != nil {
			return err
		}
		g, err := resolveGlobal(mod, name)
		if err != nil {
			return err
		}
		u.push(g)
	case 0x93: // STACK_GLOBAL
		nameV, err := u.pop()
		if err != nil {
			return err
		}
		modV, err := u.pop()
		if err != nil {
			return err
		}
		mod, ok1 := modV.(string)
		name, ok2 := nameV.(string)
		if !ok1 || !ok2 {
			return fmt.Errorf("module and name must be strings, got %s and %s", typeName(modV), typeName(nameV))
		}
		g, err := resolveGlobal(mod, name)
		if err != nil {
			return err
		}
		u.push(g)
	case 'R', 0x81: // REDUCE (callable, args), NEWOBJ (class, args): the same call here
		argsV, err := u.pop()
		if err != nil {
			return err
		}
		fnV, err := u.pop()
		if err != nil {
			return err
		}
		args, ok := argsV.(pyTuple)
		if !ok {
			return fmt.Errorf("arguments must be a tuple, got %s", typeName(argsV))
		}
		v, err := call(fnV, args)
		if err != nil {
			return err
		}
		u.push(v)
	case 0x92: // NEWOBJ_EX
		kwV, err := u.pop()
		if err != nil {
			return err
		}
		argsV, err := u.pop()
		if err != nil {
			return err
		}
		clsV, err := u.pop()
		if err != nil {
			return err
		}
		args, ok := argsV.(pyTuple)
		if !ok {
			return fmt.Errorf("arguments must be a tuple, got %s", typeName(argsV))
		}
		if kw, ok := kwV.(*pyDict); !ok || len(kw.keys) != 0 {
			return fmt.Errorf("keyword arguments are not supported")
		}
		v, err := call(clsV, args)
		if err != nil {
			return err
		}
		u.push(v)
	case 'b': // BUILD
		state, err := u.pop()
		if err != nil {
			return err
		}
		obj, err := u.top()
		if err != nil {
			return err
		}
		switch o := obj.(type) {
		case *pyDict:
			if state == nil {
				return nil
			}
			sd, ok := state.(*pyDict)
			if !ok {
				return fmt.Errorf("state for a dict must be a dict, got %s", typeName(state))
			}
			o.attrs = sd
		case *pyTensor:
			// Tensor state (requires_grad, hooks, python attributes) carries no data.
		default:
			return fmt.Errorf("cannot set state on %s", typeName(obj))
		}
	case 't':
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(pyTuple(items))
	case 0x85, 0x86, 0x87: // TUPLE1..3
		n := int(op - 0x84)
		if len(u.stack) < n || (len(u.marks) > 0 && len(u.stack)-n < u.marks[len(u.marks)-1]) {
			return fmt.Errorf("stack underflow")
		}
		t := append(pyTuple(nil), u.stack[len(u.stack)-n:]...)
		u.stack = u.stack[:len(u.stack)-n]
		u.push(t)
	case 'l': // LIST
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(&pyList{items: items})
	case 'd': // DICT
		items, err := u.popMark()
		if err != nil {
			return err
		}
		d, err := dictFrom(items)
		if err != nil {
			return err
		}
		u.push(d)
	case 's': // SETITEM
		v, err := u.pop()
		if err != nil {
			return err
		}
		k, err := u.pop()
		if err != nil {
			return err
		}
		dv, err := u.top()
		if err != nil {
			return err
		}
		d, ok := dv.(*pyDict)
		if !ok {
			return fmt.Errorf("SETITEM on %s", typeName(dv))
		}
		return d.set(k, v)
	case 'u': // SETITEMS
		items, err := u.popMark()
		if err != nil {
			return err
		}
		dv, err := u.top()
		if err != nil {
			return err
		}
		d, ok := dv.(*pyDict)
		if !ok {
			return fmt.Errorf("SETITEMS on %s", typeName(dv))
		}
		if len(items)%2 != 0 {
			return fmt.Errorf("odd number of items")
		}
		for i := 0; i < len(items); i += 2 {
			if err := d.set(items[i], items[i+1]); err != nil {
				return err
			}
		}
	case 'a': // APPEND
		v, err := u.pop()
		if err != nil {
			return err
		}
		lv, err := u.top()
		if err != nil {
			return err
		}
		l, ok := lv.(*pyList)
		if !ok {
			return fmt.Errorf("APPEND on %s", typeName(lv))
		}
		l.items = append(l.items, v)
	case 'e', 0x90: // APPENDS, ADDITEMS
		items, err := u.popMark()
		if err != nil {
			return err
		}
		lv, err := u.top()
		if err != nil {
			return err
		}
		l, ok := lv.(*pyList)
		if !ok {
			return fmt.Errorf("APPENDS on %s", typeName(lv))
		}
		l.items = append(l.items, items...)
	case 0x91: // FROZENSET
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(&pyList{items: items})
	case 'p', 'q', 'r', 0x94: // PUT, BINPUT, LONG_BINPUT, MEMOIZE
		var idx int64
		switch op {
		case 'p':
			s, err := u.readLine()
			if err != nil {
				return err
			}
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil || v < 0 {
				return fmt.Errorf("bad memo index %q", s)
			}
			idx = v
		case 'q':
			b, err := u.read(1)
			if err != nil {
				return err
			}
			idx = int64(b[0])
		case 'r':
			b, err := u.read(4)
			if err != nil {
				return err
			}
			idx = int64(binary.LittleEndian.Uint32(b))
		default:
			idx = int64(len(u.memo))
		}
		if idx >= maxMemo {
			return fmt.Errorf("memo index %d too large", idx)
		}
		v, err := u.top()
		if err != nil {
			return err
		}
		u.memo[idx] = v
	case 'g', 'h', 'j': // GET, BINGET, LONG_BINGET
		var idx int64
		switch op {
		case 'g':
			s, err := u.readLine()
			if err != nil {
				return err
			}
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("bad memo index %q", s)
			}
			idx = v
		case 'h':
			b, err := u.read(1)
			if err != nil {
				return err
			}
			idx = int64(b[0])
		default:
			b, err := u.read(4)
			if err != nil {
				return err
			}
			idx = int64(binary.LittleEndian.Uint32(b))
		}
		v, ok := u.memo[idx]
		if !ok {
			return fmt.Errorf("memo index %d was never stored", idx)
		}
		u.push(v)
	case 'Q': // BINPERSID
		pid, err := u.pop()
		if err != nil {
			return err
		}
		return u.persistent(pid)
	case 'P': // PERSID
		s, err := u.readLine()
		if err != nil {
			return err
		}
		return u.persistent(s)
	default:
		return fmt.Errorf("unsupported opcode")
	}
	return nil
}

func (u *unpickler) persistent(pid any) error {
	if u.persist == nil {
		return fmt.Errorf("persistent id without a loader")
	}
	v, err := u.persist(pid)
	if err != nil {
		return err
	}
	u.push(v)
	return nil
}

func dictFrom(items []any) (*pyDict, error) {
	if len(items)%2 != 0 {
		return nil, fmt.Errorf("odd number of items")
	}
	d := newDict()
	for i := 0; i < len(items); i += 2 {
		if err := d.set(items[i], items[i+1]); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// decodeLong decodes a little-endian two's complement integer; values that
// do not fit int64 are an error.
func decodeLong(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if len(b) > 8 {
		// Accept redundant sign-extension bytes only.
		v := new(big.Int)
		rev := make([]byte, len(b))
		for i := range b {
			rev[len(b)-1-i] = b[i]
		}
		v.SetBytes(rev)
		if b[len(b)-1]&0x80 != 0 {
			v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
		}
		if !v.IsInt64() {
			return 0, fmt.Errorf("integer does not fit in 64 bits")
		}
		return v.Int64(), nil
	}
	var x uint64
	for i := len(b) - 1; i >= 0; i-- {
		x = x<<8 | uint64(b[i])
	}
	shift := uint(64 - 8*len(b))
	return int64(x<<shift) >> shift, nil
}

func resolveGlobal(mod, name string) (any, error) {
	full := mod + "." + name
	if _, ok := storageDTypes[full]; ok || allowedGlobals[full] {
		return pyGlobal{mod, name}, nil
	}
	return nil, fmt.Errorf("global %s is not allowed (only torch storages and tensor-rebuild functions are)", full)
}

// call applies an allowed global to args.
func call(fnV any, args pyTuple) (any, error) {
	g, ok := fnV.(pyGlobal)
	if !ok {
		return nil, fmt.Errorf("cannot call %s", typeName(fnV))
	}
	switch g.String() {
	case "collections.OrderedDict":
		d := newDict()
		if len(args) == 0 {
			return d, nil
		}
		if len(args) == 1 {
			if l, ok := args[0].(*pyList); ok {
				for _, it := range l.items {
					p, ok := it.(pyTuple)
					if !ok || len(p) != 2 {
						return nil, fmt.Errorf("OrderedDict: items must be pairs")
					}
					if err := d.set(p[0], p[1]); err != nil {
						return nil, err
					}
				}
				return d, nil
			}
		}
		return nil, fmt.Errorf("OrderedDict: unsupported arguments")
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
		if len(args) < 4 {
			return nil, fmt.Errorf("%s: %d arguments, want at least 4", g, len(args))
		}
		return rebuildTensor(args[0], args[1], args[2], args[3])
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		if len(args) < 1 {
			return nil, fmt.Errorf("%s: no arguments", g)
		}
		t, ok := args[0].(*pyTensor)
		if !ok {
			return nil, fmt.Errorf("%s: data is %s, not a tensor", g, typeName(args[0]))
		}
		return t, nil
	case "torch._tensor._rebuild_from_type_v2":
		if len(args) < 3 {
			return nil, fmt.Errorf("%s: %d arguments, want at least 3", g, len(args))
		}
		if ty, ok := args[1].(pyGlobal); !ok || (ty.String() != "torch.Tensor" && ty.String() != "torch.nn.parameter.Parameter") {
			return nil, fmt.Errorf("%s: tensor type %s is not supported", g, typeName(args[1]))
		}
		inner, ok := args[2].(pyTuple)
		if !ok {
			return nil, fmt.Errorf("%s: arguments must be a tuple", g)
		}
		if f, ok := args[0].(pyGlobal); !ok || !strings.HasPrefix(f.String(), "torch._utils._rebuild_") {
			return nil, fmt.Errorf("%s: rebuild function %s is not supported", g, typeName(args[0]))
		}
		return call(args[0], inner)
	}
	return nil, fmt.Errorf("%s cannot be called", g)
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func intTuple(v any, what string) ([]int64, error) {
	t, ok := v.(pyTuple)
	if !ok {
		return nil, fmt.Errorf("%s is %s, want a tuple of ints", what, typeName(v))
	}
	out := make([]int64, len(t))
	for i, e := range t {
		x, ok := asInt(e)
		if !ok {
			return nil, fmt.Errorf("%s[%d] is %s, want an int", what, i, typeName(e))
		}
		out[i] = x
	}
	return out, nil
}

func rebuildTensor(storageV, offsetV, sizeV, strideV any) (*pyTensor, error) {
	st, ok := storageV.(*storageRef)
	if !ok {
		return nil, fmt.Errorf("tensor storage is %s, not a storage", typeName(storageV))
	}
	off, ok := asInt(offsetV)
	if !ok || off < 0 {
		return nil, fmt.Errorf("tensor storage offset %v is invalid", offsetV)
	}
	size, err := intTuple(sizeV, "tensor size")
	if err != nil {
		return nil, err
	}
	stride, err := intTuple(strideV, "tensor stride")
	if err != nil {
		return nil, err
	}
	if len(size) != len(stride) {
		return nil, fmt.Errorf("tensor size %v and stride %v differ in rank", size, stride)
	}
	shape := make([]int, len(size))
	for i, d := range size {
		if d < 0 || d > maxElements {
			return nil, fmt.Errorf("tensor size %v has an invalid dimension", size)
		}
		shape[i] = int(d)
	}
	n, err := numel(shape, maxElements)
	if err != nil {
		return nil, err
	}
	if int64(n) > st.numel && n > maxExpanded {
		return nil, fmt.Errorf("tensor of size %v expands a storage of %d elements to %d elements (more than %d)", size, st.numel, n, maxExpanded)
	}
	if n > 0 {
		// Highest element index reached must lie inside the storage.
		last := off
		for i, d := range size {
			if stride[i] < 0 || stride[i] > maxElements {
				return nil, fmt.Errorf("tensor stride %v is invalid", stride)
			}
			hi, lo := mulCheck(d-1, stride[i])
			if hi || lo > maxElements-last {
				return nil, fmt.Errorf("tensor size %v with stride %v overflows", size, stride)
			}
			last += lo
		}
		if last >= st.numel {
			return nil, fmt.Errorf("tensor of size %v, stride %v at offset %d reaches element %d of a storage of %d elements", size, stride, off, last, st.numel)
		}
	}
	return &pyTensor{storage: st, offset: off, shape: shape, stride: stride}, nil
}

// maxExpanded bounds a broadcast view (stride 0) larger than its storage, so
// a tiny file cannot make the reader allocate without limit.
const maxExpanded = 1 << 22

func mulCheck(a, b int64) (overflow bool, v int64) {
	if a == 0 || b == 0 {
		return false, 0
	}
	v = a * b
	if v/b != a || v < 0 {
		return true, 0
	}
	return false, v
}

// typeName names a machine value's type for error messages without
// printing the (possibly cyclic) value itself.
func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case pyTuple:
		return fmt.Sprintf("tuple of %d", len(x))
	case *pyList:
		return "list"
	case *pyDict:
		return "dict"
	case pyGlobal:
		return x.String()
	case *storageRef:
		return "storage"
	case *pyTensor:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}
