/* crc64.c - CRC-64/NVME: poly 0xad93d23594c93659 reflected, init and xorout
 * all ones, check("123456789") = 0xae8b14860a799888. It is the checksum Azure
 * Blob storage checks on x-ms-content-crc64 (and AWS's CRC64NVME).
 *
 * Two ways, one answer (the unit test compares them with the bit-by-bit
 * definition at every length and split):
 *  - where the CPU has PCLMULQDQ, four 128-bit lanes are folded forward by
 *    carry-less multiplication (Intel, "Fast CRC Computation for Generic
 *    Polynomials Using PCLMULQDQ", 2009), the lanes folded into one, and its 16
 *    bytes finished by table: no Barrett step is needed. The fold constants
 *    are x^(128k+63) and x^(128k-1) mod P, bit-reflected, computed once.
 *  - elsewhere, slice-by-16 tables.
 * MD5, which this replaces on Azure blocks, runs at about 0.75 GB/s here; the
 * tables at 1.5 GB/s; the folding at over 10 GB/s. */
#include "io/io.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_CLMUL 1
#endif

#define POLY_NORMAL 0xad93d23594c93659ULL
#define POLY_REFLECTED 0x9a6c9329ac4bc9b5ULL
#define SLICES 16

static uint64_t table[SLICES][256];
static uint64_t k_lane[2], k_one[2];	/* fold by 64 bytes (four lanes), by 16 bytes */
static int use_clmul;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* x^n mod P, bit-reflected */
static uint64_t xpow_reflected(unsigned n)
{
	uint64_t r = 1, out = 0;

	while (n--)
		r = (r << 1) ^ (POLY_NORMAL & (0 - (r >> 63)));
	for (int i = 0; i < 64; i++)
		if (r >> i & 1)
			out |= 1ULL << (63 - i);
	return out;
}

static void init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint64_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (POLY_REFLECTED & (0 - (c & 1)));
		table[0][i] = c;
	}
	for (unsigned i = 0; i < 256; i++)
		for (int s = 1; s < SLICES; s++)
			table[s][i] = (table[s - 1][i] >> 8) ^ table[0][table[s - 1][i] & 0xff];
	k_one[0] = xpow_reflected(128 + 63);
	k_one[1] = xpow_reflected(128 - 1);
	k_lane[0] = xpow_reflected(512 + 63);
	k_lane[1] = xpow_reflected(512 - 1);
#ifdef HAVE_CLMUL
	__builtin_cpu_init();
	use_clmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse2");
#endif
}

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* the register (not inverted) after n more bytes, by tables */
static uint64_t by_tables(uint64_t reg, const unsigned char *p, size_t n)
{
	while (n >= 16) {
		uint64_t a = le64(p) ^ reg, b = le64(p + 8);
		reg = table[15][a & 0xff] ^ table[14][(a >> 8) & 0xff] ^ table[13][(a >> 16) & 0xff] ^
		      table[12][(a >> 24) & 0xff] ^ table[11][(a >> 32) & 0xff] ^ table[10][(a >> 40) & 0xff] ^
		      table[9][(a >> 48) & 0xff] ^ table[8][a >> 56] ^ table[7][b & 0xff] ^
		      table[6][(b >> 8) & 0xff] ^ table[5][(b >> 16) & 0xff] ^ table[4][(b >> 24) & 0xff] ^
		      table[3][(b >> 32) & 0xff] ^ table[2][(b >> 40) & 0xff] ^ table[1][(b >> 48) & 0xff] ^
		      table[0][b >> 56];
		p += 16;
		n -= 16;
	}
	while (n--)
		reg = table[0][(reg ^ *p++) & 0xff] ^ (reg >> 8);
	return reg;
}

#ifdef HAVE_CLMUL
__attribute__((target("pclmul,sse2"))) static __m128i fold(__m128i acc, __m128i k, __m128i next)
{
	return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(acc, k, 0x00), _mm_clmulepi64_si128(acc, k, 0x11)),
			     next);
}

/* n >= 64, a multiple of 16: the register after them */
__attribute__((target("pclmul,sse2"))) static uint64_t by_folding(uint64_t reg, const unsigned char *p, size_t n)
{
	const __m128i kl = _mm_set_epi64x((long long)k_lane[1], (long long)k_lane[0]);
	const __m128i k1 = _mm_set_epi64x((long long)k_one[1], (long long)k_one[0]);
	__m128i a0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), _mm_set_epi64x(0, (long long)reg));
	__m128i a1 = _mm_loadu_si128((const __m128i *)(p + 16));
	__m128i a2 = _mm_loadu_si128((const __m128i *)(p + 32));
	__m128i a3 = _mm_loadu_si128((const __m128i *)(p + 48));
	unsigned char last[16];

	for (p += 64, n -= 64; n >= 64; p += 64, n -= 64) {
		a0 = fold(a0, kl, _mm_loadu_si128((const __m128i *)p));
		a1 = fold(a1, kl, _mm_loadu_si128((const __m128i *)(p + 16)));
		a2 = fold(a2, kl, _mm_loadu_si128((const __m128i *)(p + 32)));
		a3 = fold(a3, kl, _mm_loadu_si128((const __m128i *)(p + 48)));
	}
	a0 = fold(fold(fold(a0, k1, a1), k1, a2), k1, a3);
	for (; n >= 16; p += 16, n -= 16)
		a0 = fold(a0, k1, _mm_loadu_si128((const __m128i *)p));
	/* a0 now stands for everything so far, as the last 16 bytes of it */
	_mm_storeu_si128((__m128i *)last, a0);
	return by_tables(0, last, sizeof(last));
}
#endif

uint64_t ado_crc64_nvme(uint64_t crc, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	uint64_t reg = ~crc;

	pthread_once(&once, init);
#ifdef HAVE_CLMUL
	if (use_clmul && n >= 64) {
		size_t m = n & ~(size_t)15;
		reg = by_folding(reg, p, m);
		p += m;
		n -= m;
	}
#endif
	return ~by_tables(reg, p, n);
}

uint64_t ado_crc64_nvme_by_tables(uint64_t crc, const void *buf, size_t n)
{
	pthread_once(&once, init);
	return ~by_tables(~crc, buf, n);
}
