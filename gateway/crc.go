package gateway

// crc64Poly is the reflected ECMA-182 polynomial of CRC-64/XZ (Go's crc64.ECMA).
const crc64Poly = 0xC96C5795D7870F42

// crc64Combine returns the CRC-64/ECMA of A‖B from crc1 = CRC(A), crc2 = CRC(B) and
// len2 = len(B), without the bytes: it applies len2 zero bytes to crc1 through
// repeated squaring of the GF(2) operator that appends one zero bit (the method of
// zlib's crc32_combine, for 64 bits), then adds crc2. Combining with crc1 = 0
// and an empty A gives crc2.
func crc64Combine(crc1, crc2 uint64, len2 int64) uint64 {
	if len2 <= 0 {
		return crc1 ^ crc2
	}
	var even, odd [64]uint64
	// odd is the operator for one zero bit.
	odd[0] = crc64Poly
	row := uint64(1)
	for n := 1; n < 64; n++ {
		odd[n] = row
		row <<= 1
	}
	gf2Square(&even, &odd) // two zero bits
	gf2Square(&odd, &even) // four zero bits
	// Each round squares the operator again (eight zero bits = one zero byte first)
	// and applies it where len2 has a one bit.
	for {
		gf2Square(&even, &odd)
		if len2&1 != 0 {
			crc1 = gf2Times(&even, crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
		gf2Square(&odd, &even)
		if len2&1 != 0 {
			crc1 = gf2Times(&odd, crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
	}
	return crc1 ^ crc2
}

func gf2Times(mat *[64]uint64, vec uint64) uint64 {
	var sum uint64
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat *[64]uint64) {
	for n := range square {
		square[n] = gf2Times(mat, mat[n])
	}
}
