package jsontext

// LE64 returns the eight bytes of s at i as a little-endian word: s[i] is
// its lowest byte.
func LE64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// EightDigits returns the value of the eight ASCII digits of v, the first
// in its lowest byte; ok is false when a byte is not a digit.
func EightDigits(v uint64) (uint64, bool) {
	// Every byte is '0' to '9' when its high nibble is 3 and adding 6
	// does not carry out of its low nibble.
	if v&0xF0F0F0F0F0F0F0F0 != 0x3030303030303030 || (v+0x0606060606060606)&0xF0F0F0F0F0F0F0F0 != 0x3030303030303030 {
		return 0, false
	}
	v -= 0x3030303030303030
	v = v*10 + v>>8 // pairs of digits in every other byte
	v = ((v&0x000000FF000000FF)*(100+1000000<<32) + (v>>16&0x000000FF000000FF)*(1+10000<<32)) >> 32
	return v, true
}
