/* The log scanner's fast path in C: the work of scankernel.scan_block, without Numba.
 *
 * scan_block(buf, lo, mode, nfields, table, anc, lens, lower, pairs[, isa])
 *     -> (stop, lines, blank, rows)
 *
 * Same arguments as scankernel.scan_block (table and pairs are accepted for that, and not
 * needed: the bytes that matter follow from the mode, and the anchors' first and second bytes
 * from anc, lens and lower). rows is a bytearray of int64 rows of ROW columns, the flagged
 * table (cscan.py makes it an array); a row's columns 4-10 are zero unless its kind is PARSED.
 * isa picks the block reader (tests hold them to one answer): -1 the best this CPU has (the
 * default), 0 a byte loop, 1 SSE2, 2 AVX2 (each capped at what the CPU has).
 *
 * The buffer (any C-contiguous bytes-like object ending with a newline) is read in 64-byte
 * blocks. For each block, vector compares (AVX2 where the CPU has it, else SSE2, the x86-64
 * baseline; a byte loop on other machines and for the buffer's last bytes) give 64-bit masks
 * of the bytes that matter: newline, then quote, "]" and backslash (Apache/nginx) or space and
 * tab/VT/FF/CR (IIS), and the places where two bytes may begin an anchor (one of the anchors'
 * first bytes followed by one of their second bytes; there the anchors are compared). The
 * masks are read a line at a time, cut at each newline, without reloading the block: the
 * line's first six quotes and first "]" are taken from their masks, spaces counted, and at
 * the newline the line is judged by the rules in scankernel.py's docstring, and flagged or
 * skipped. The GIL is released for the pass, so threads scan chunks at once.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if !defined(LS_NO_SIMD) && defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LS_X86 1
#else
#define LS_X86 0
#endif

enum { COMMON = 0, COMBINED = 1, IIS = 2 };
enum { CANDIDATE = 1, PARSED = 2 };
enum { ISA_BYTES = 0, ISA_SSE2 = 1, ISA_AVX2 = 2 };
#define ROW 11
#define NQUOTES 6
#define NO_TIME INT64_MIN
#define SET 4      /* distinct bytes compared per anchor position; more: every byte may be one */
#define BLOCK 64

#define C_FIRST 1  /* the byte, lower-cased, begins an anchor */
#define C_SECOND 2 /* the byte, lower-cased, is an anchor's second byte */

/* A set of bytes for the vector compares: a byte v is in it when (v | fold[i]) == val[i] for
 * some i < count; count -1: every byte is. Unused slots repeat the first. */
typedef struct {
    uint8_t val[SET], fold[SET];
    int count;
} ByteSet;

typedef struct {
    const uint8_t *buf;
    Py_ssize_t n;
    int mode;
    Py_ssize_t nfields;
    const uint8_t *anc;
    Py_ssize_t nanc, width;
    int64_t *lens;       /* copied: the caller's array may be unaligned */
    const uint8_t *lower;
    uint8_t cls[256];    /* C_FIRST, C_SECOND */
    int any_anchor;
    ByteSet first, second;
    int64_t *rows;
    Py_ssize_t k, cap;
    int oom;
} Scan;

/* One block's masks: bit k for the byte at base + k. */
typedef struct {
    uint64_t nl, pairs;
    uint64_t a, b, c; /* Apache/nginx: quotes, "]", backslashes; IIS: spaces, tab/VT/FF/CR */
} Masks;

#define INLINE static inline __attribute__((always_inline))

INLINE int ctz64(uint64_t x) { return __builtin_ctzll(x); }
INLINE int is_digit(uint8_t c) { return c >= 48 && c <= 57; }

/* popcount without a library call where the CPU's instruction is not assumed */
INLINE int bits_set(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}

static void byte_set(const uint8_t *cls, uint8_t bit, ByteSet *set)
{
    set->count = 0;
    for (int v = 0; v < 256; v++) {
        if (!(cls[v] & bit))
            continue;
        uint8_t fold = 0;
        if (v >= 'A' && v <= 'Z' && (cls[v | 0x20] & bit))
            continue; /* compared with its lower case */
        if (v >= 'a' && v <= 'z' && (cls[v & ~0x20] & bit))
            fold = 0x20;
        if (set->count == SET) {
            set->count = -1;
            return;
        }
        set->val[set->count] = (uint8_t)v;
        set->fold[set->count] = fold;
        set->count++;
    }
    for (int i = set->count > 0 ? set->count : 0; i < SET; i++) {
        set->val[i] = set->count > 0 ? set->val[0] : 0;
        set->fold[i] = set->count > 0 ? set->fold[0] : 0;
    }
}

static void classes(Scan *sc)
{
    memset(sc->cls, 0, sizeof sc->cls);
    sc->any_anchor = 0;
    for (Py_ssize_t a = 0; a < sc->nanc; a++) {
        if (sc->lens[a] < 2)
            continue; /* padding (no anchors); scankernel refuses shorter ones */
        const uint8_t *an = sc->anc + a * sc->width;
        sc->any_anchor = 1;
        for (int v = 0; v < 256; v++) {
            if (sc->lower[v] == an[0])
                sc->cls[v] |= C_FIRST;
            if (sc->lower[v] == an[1])
                sc->cls[v] |= C_SECOND;
        }
    }
    byte_set(sc->cls, C_FIRST, &sc->first);
    byte_set(sc->cls, C_SECOND, &sc->second);
}

/* Whether an anchor starts at buf[at] (compared through lower, as bytes.lower() sees it). */
INLINE int anchor_at(const Scan *sc, Py_ssize_t at)
{
    const uint8_t *buf = sc->buf, *lower = sc->lower;
    for (Py_ssize_t a = 0; a < sc->nanc; a++) {
        int64_t len = sc->lens[a];
        const uint8_t *an = sc->anc + a * sc->width;
        if (len == 0 || at + len > sc->n || lower[buf[at + 1]] != an[1] || lower[buf[at]] != an[0])
            continue;
        int64_t m = 2;
        while (m < len && lower[buf[at + m]] == an[m])
            m++;
        if (m == len)
            return 1;
    }
    return 0;
}

/* The masks of the block at base, a byte at a time (bytes past the buffer count as none). */
static void block_bytes(const Scan *sc, Py_ssize_t base, Masks *m)
{
    const uint8_t *p = sc->buf + base;
    Py_ssize_t count = sc->n - base < BLOCK ? sc->n - base : BLOCK;
    const int iis = sc->mode == IIS;
    memset(m, 0, sizeof *m);
    for (Py_ssize_t k = 0; k < count; k++) {
        uint8_t v = p[k];
        uint64_t bit = 1ULL << k;
        if (v == '\n')
            m->nl |= bit;
        if (iis) {
            if (v == ' ')
                m->a |= bit;
            else if (v == 9 || v == 11 || v == 12 || v == 13)
                m->b |= bit;
        } else if (v == '"') {
            m->a |= bit;
        } else if (v == ']') {
            m->b |= bit;
        } else if (v == '\\') {
            m->c |= bit;
        }
        if ((sc->cls[v] & C_FIRST) && (base + k + 1 >= sc->n || (sc->cls[p[k + 1]] & C_SECOND)))
            m->pairs |= bit;
    }
}

#if LS_X86
/* The sets' bytes and folds as vectors, made once per pass. */
typedef struct {
    __m128i val[SET], fold[SET];
    int count;
} Set128;
typedef struct {
    Set128 first, second;
} Consts128;

INLINE void prep_set128(const ByteSet *b, Set128 *s)
{
    s->count = b->count;
    for (int i = 0; i < SET; i++) {
        s->val[i] = _mm_set1_epi8((char)b->val[i]);
        s->fold[i] = _mm_set1_epi8((char)b->fold[i]);
    }
}

INLINE void prep_sse2(const Scan *sc, Consts128 *k)
{
    prep_set128(&sc->first, &k->first);
    prep_set128(&sc->second, &k->second);
}

/* Bytes of v in the set (the count's branches go the same way for every block). */
INLINE __m128i in_set128(__m128i v, const Set128 *s)
{
    if (s->count < 0)
        return _mm_set1_epi8(-1);
    __m128i hit = _mm_cmpeq_epi8(_mm_or_si128(v, s->fold[0]), s->val[0]);
    for (int i = 1; i < s->count; i++)
        hit = _mm_or_si128(hit, _mm_cmpeq_epi8(_mm_or_si128(v, s->fold[i]), s->val[i]));
    return hit;
}

INLINE uint64_t mask128(__m128i x) { return (uint64_t)(uint32_t)_mm_movemask_epi8(x); }

/* block_bytes for a block with a byte after it in the buffer, 16 bytes at a time (SSE2). */
INLINE void block_sse2(const Scan *sc, const Consts128 *k, Py_ssize_t base, int iis, int pairs,
                       Masks *m)
{
    const uint8_t *p = sc->buf + base;
    memset(m, 0, sizeof *m);
    for (int part = 0; part < BLOCK; part += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + part));
        m->nl |= mask128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))) << part;
        if (iis) {
            /* 9..13: v - 9 at most 4 (unsigned); the newline is taken out below */
            __m128i d = _mm_sub_epi8(v, _mm_set1_epi8(9));
            m->a |= mask128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' '))) << part;
            m->b |= mask128(_mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(4)), d)) << part;
        } else {
            m->a |= mask128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"'))) << part;
            m->b |= mask128(_mm_cmpeq_epi8(v, _mm_set1_epi8(']'))) << part;
            m->c |= mask128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))) << part;
        }
        if (pairs) {
            __m128i w = _mm_loadu_si128((const __m128i *)(p + part + 1));
            m->pairs |= mask128(_mm_and_si128(in_set128(v, &k->first), in_set128(w, &k->second)))
                        << part;
        }
    }
    m->b &= ~m->nl;
}

#define AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt")))

typedef struct {
    __m256i val[SET], fold[SET];
    int count;
} Set256;
typedef struct {
    Set256 first, second;
} Consts256;

AVX2 INLINE void prep_set256(const ByteSet *b, Set256 *s)
{
    s->count = b->count;
    for (int i = 0; i < SET; i++) {
        s->val[i] = _mm256_set1_epi8((char)b->val[i]);
        s->fold[i] = _mm256_set1_epi8((char)b->fold[i]);
    }
}

AVX2 INLINE void prep_avx2(const Scan *sc, Consts256 *k)
{
    prep_set256(&sc->first, &k->first);
    prep_set256(&sc->second, &k->second);
}

AVX2 INLINE __m256i in_set256(__m256i v, const Set256 *s)
{
    if (s->count < 0)
        return _mm256_set1_epi8(-1);
    __m256i hit = _mm256_cmpeq_epi8(_mm256_or_si256(v, s->fold[0]), s->val[0]);
    for (int i = 1; i < s->count; i++)
        hit = _mm256_or_si256(hit, _mm256_cmpeq_epi8(_mm256_or_si256(v, s->fold[i]), s->val[i]));
    return hit;
}

AVX2 INLINE uint64_t mask256(__m256i x) { return (uint64_t)(uint32_t)_mm256_movemask_epi8(x); }

/* block_sse2, 32 bytes at a time (AVX2). */
AVX2 INLINE void block_avx2(const Scan *sc, const Consts256 *k, Py_ssize_t base, int iis,
                            int pairs, Masks *m)
{
    const uint8_t *p = sc->buf + base;
    memset(m, 0, sizeof *m);
    for (int part = 0; part < BLOCK; part += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(p + part));
        m->nl |= mask256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\n'))) << part;
        if (iis) {
            __m256i d = _mm256_sub_epi8(v, _mm256_set1_epi8(9));
            m->a |= mask256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(' '))) << part;
            m->b |= mask256(_mm256_cmpeq_epi8(_mm256_min_epu8(d, _mm256_set1_epi8(4)), d)) << part;
        } else {
            m->a |= mask256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('"'))) << part;
            m->b |= mask256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(']'))) << part;
            m->c |= mask256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\'))) << part;
        }
        if (pairs) {
            __m256i w = _mm256_loadu_si256((const __m256i *)(p + part + 1));
            m->pairs |= mask256(_mm256_and_si256(in_set256(v, &k->first),
                                                 in_set256(w, &k->second)))
                        << part;
        }
    }
    m->b &= ~m->nl;
}
#endif

INLINE int add_row(Scan *sc, Py_ssize_t line, Py_ssize_t s, Py_ssize_t end, int64_t kind)
{
    if (sc->k == sc->cap) {
        Py_ssize_t cap = sc->cap ? 2 * sc->cap : 1024;
        int64_t *grown = realloc(sc->rows, (size_t)cap * ROW * sizeof(int64_t));
        if (grown == NULL) {
            sc->oom = 1;
            return -1;
        }
        sc->rows = grown;
        sc->cap = cap;
    }
    int64_t *row = sc->rows + sc->k * ROW;
    memset(row, 0, ROW * sizeof(int64_t));
    row[0] = line;
    row[1] = s;
    row[2] = end;
    row[3] = kind;
    sc->k++;
    return 0;
}

/* The two-digit number at buf[j:j + 2], -1 unless both are ASCII digits. */
static inline int64_t two(const uint8_t *buf, Py_ssize_t j)
{
    if (is_digit(buf[j]) && is_digit(buf[j + 1]))
        return (buf[j] - 48) * 10 + (buf[j + 1] - 48);
    return -1;
}

/* UTC epoch seconds of an Apache time buf[t0:t1] of the usual form, as scankernel._clf_seconds
 * (and log_formats.parse_clf_time) gives them, or NO_TIME. */
static int64_t clf_seconds(const uint8_t *buf, Py_ssize_t t0, Py_ssize_t t1)
{
    static const char months[12][3] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (t1 - t0 != 26 || buf[t0 + 2] != '/' || buf[t0 + 6] != '/' || buf[t0 + 11] != ':')
        return NO_TIME;
    if (buf[t0 + 14] != ':' || buf[t0 + 17] != ':' || buf[t0 + 20] != ' ')
        return NO_TIME;
    int64_t day = two(buf, t0), hh = two(buf, t0 + 12), mm = two(buf, t0 + 15);
    int64_t ss = two(buf, t0 + 18), y1 = two(buf, t0 + 7), y2 = two(buf, t0 + 9);
    int64_t oh = two(buf, t0 + 22), om = two(buf, t0 + 24);
    uint8_t sign = buf[t0 + 21];
    if (day < 0 || hh < 0 || mm < 0 || ss < 0 || y1 < 0 || y2 < 0 || oh < 0 || om < 0)
        return NO_TIME;
    if (sign != '+' && sign != '-')
        return NO_TIME;
    int64_t month = 0;
    for (int m = 0; m < 12; m++)
        if (memcmp(buf + t0 + 3, months[m], 3) == 0)
            month = m + 1;
    int64_t year = y1 * 100 + y2;
    if (month == 0 || year == 0)
        return NO_TIME;
    /* days from 1970-01-01 (proleptic Gregorian; every quantity here is >= 0) */
    int64_t y = year - (month <= 2 ? 1 : 0);
    int64_t era = y / 400, yoe = y - era * 400;
    int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5;
    int64_t days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468 + day - 1;
    int64_t t = days * 86400 + hh * 3600 + mm * 60 + ss;
    int64_t offset = oh * 3600 + om * 60;
    return sign == '+' ? t - offset : t + offset;
}

/* The first three bytes at or below 0x20 from s must be single spaces closing three non-empty
 * runs (host, ident, user): the first space, and where the third run ends, or -1. Read from a
 * mask of the first 32 bytes when the three are there, else byte by byte (the same answer). */
INLINE Py_ssize_t head_runs(const Scan *sc, Py_ssize_t s, Py_ssize_t *after, int isa)
{
    const uint8_t *buf = sc->buf;
#if LS_X86
    if (isa != ISA_BYTES && s + 32 <= sc->n) {
        const __m128i top = _mm_set1_epi8(32);
        __m128i a = _mm_loadu_si128((const __m128i *)(buf + s));
        __m128i b = _mm_loadu_si128((const __m128i *)(buf + s + 16));
        uint32_t low = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(a, top), a))
                       | (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(b, top), b)) << 16;
        uint32_t two = low & (low - 1);
        if (two & (two - 1)) { /* three bits or more */
            int b1 = ctz64(low), b2 = ctz64(two), b3 = ctz64(two & (two - 1));
            if (b1 > 0 && b2 > b1 + 1 && b3 > b2 + 1 && buf[s + b1] == 32 && buf[s + b2] == 32
                && buf[s + b3] == 32) {
                *after = s + b3 + 1;
                return s + b1;
            }
            return -1;
        }
    }
#else
    (void)isa;
#endif
    Py_ssize_t j = s, first = -1;
    for (int run = 0; run < 3; run++) {
        Py_ssize_t t = j;
        while (buf[j] > 32) /* the line ends with a newline */
            j++;
        if (j == t || buf[j] != 32)
            return -1;
        if (first < 0)
            first = j;
        j++;
    }
    *after = j;
    return first;
}

/* The state of the line being read. */
typedef struct {
    Py_ssize_t s;           /* its first byte */
    Py_ssize_t quotes[NQUOTES];
    int nq;
    Py_ssize_t close;       /* the first "]", or -1 */
    int backslash, odd, anchor;
    Py_ssize_t spaces;
} Line;
INLINE void line_start(Line *ln, Py_ssize_t s)
{
    ln->s = s;
    ln->nq = 0;
    ln->close = -1;
    ln->backslash = ln->odd = ln->anchor = 0;
    ln->spaces = 0;
}

/* An Apache/nginx line's shape (scankernel._scan_clf): the host's end and the "[" before the
 * time when proved, else -1. */
INLINE Py_ssize_t clf_shape(const Scan *sc, const Line *ln, Py_ssize_t end, Py_ssize_t *bracket,
                            int isa)
{
    const uint8_t *buf = sc->buf;
    const Py_ssize_t *q = ln->quotes;
    Py_ssize_t close = ln->close, j;
    if (close < 0 || ln->nq < 2 || q[0] != close + 2 || buf[close + 1] != 32)
        return -1;
    Py_ssize_t first = head_runs(sc, ln->s, &j, isa);
    if (first < 0 || buf[j] != '[' || j + 1 >= close)
        return -1;
    Py_ssize_t opening = j;
    j = q[1] + 1; /* after the request */
    if (j + 3 >= end || buf[j] != 32)
        return -1;
    j++;
    if (buf[j] == '-')
        j++;
    else if (j + 3 < end && is_digit(buf[j]) && is_digit(buf[j + 1]) && is_digit(buf[j + 2]))
        j += 3;
    else
        return -1;
    if (j + 1 >= end || buf[j] != 32)
        return -1;
    j++;
    uint8_t c = buf[j];
    if (sc->mode != COMBINED) {
        if (c == '-' || is_digit(c)) {
            *bracket = opening;
            return first;
        }
        return -1;
    }
    if (c == '-')
        j++;
    else if (is_digit(c))
        while (j < end && is_digit(buf[j]))
            j++;
    else
        return -1;
    if (ln->nq >= NQUOTES && q[2] == j + 1 && buf[j] == 32 && q[4] == q[3] + 2
        && buf[q[3] + 1] == 32) {
        *bracket = opening;
        return first;
    }
    return -1;
}

/* Judge the line ending at ``end`` (its newline). 1 when the scan stops after it (an IIS
 * directive), -1 when out of memory, else 0. */
INLINE int line_end(Scan *sc, Line *ln, Py_ssize_t end, Py_ssize_t *lines, Py_ssize_t *blank,
                    int isa, int iis)
{
    const uint8_t *buf = sc->buf;
    Py_ssize_t s = ln->s, index = (*lines)++;
    if (end == s) {
        (*blank)++;
        return 0;
    }
    if (iis) {
        int directive = buf[s] == '#';
        if (!ln->anchor && !ln->odd && !directive && buf[s] != 32 && ln->spaces + 1 == sc->nfields)
            return 0;
        int sure = ln->anchor && buf[s] > 32 && buf[end - 1] != 13 && !directive;
        if (add_row(sc, index, s, end, sure ? CANDIDATE : 0) < 0)
            return -1;
        return directive;
    }
    Py_ssize_t host_end = -1, bracket = -1;
    if (!ln->backslash)
        host_end = clf_shape(sc, ln, end, &bracket, isa);
    if (!ln->anchor && !ln->backslash && host_end >= 0)
        return 0;
    int sure = ln->anchor && buf[s] > 32 && buf[end - 1] != 13;
    int64_t kind = sure ? (host_end >= 0 ? PARSED : CANDIDATE) : 0;
    if (add_row(sc, index, s, end, kind) < 0)
        return -1;
    if (kind == PARSED) {
        int64_t *row = sc->rows + (sc->k - 1) * ROW;
        const Py_ssize_t *q = ln->quotes;
        Py_ssize_t j = q[1] + 2;
        row[4] = host_end;
        row[5] = bracket + 1;
        row[6] = ln->close;
        row[7] = q[0] + 1;
        row[8] = q[1];
        row[9] = buf[j] == '-' ? -1
                               : (buf[j] - 48) * 100 + (buf[j + 1] - 48) * 10 + buf[j + 2] - 48;
        row[10] = clf_seconds(buf, bracket + 1, ln->close);
    }
    return 0;
}

/* block_bytes, with the arguments of the vector versions. */
typedef int ConstsPlain;
INLINE void prep_plain(const Scan *sc, ConstsPlain *k)
{
    (void)sc;
    *k = 0;
}
INLINE void block_plain(const Scan *sc, const ConstsPlain *k, Py_ssize_t base, int iis, int pairs,
                        Masks *m)
{
    (void)k;
    (void)iis;
    (void)pairs;
    block_bytes(sc, base, m);
}

INLINE int popcount_plain(uint64_t x) { return bits_set(x); }

/* The pass: from lo to the end of the buffer, or (IIS) past the first directive line. One
 * version per block reader (a macro: GCC inlines vector code only into a function compiled
 * for that instruction set). */
#define DEFINE_PASS(NAME, ATTRS, PREP, CONSTS, BLOCK_FN, POPCOUNT, ISA, IIS_MODE)                \
    ATTRS static Py_ssize_t NAME(Scan *sc, Py_ssize_t lo, Py_ssize_t *lines, Py_ssize_t *blank)   \
    {                                                                                             \
        const Py_ssize_t n = sc->n;                                                               \
        const int iis = IIS_MODE, pairs = sc->any_anchor;                                         \
        CONSTS k;                                                                                 \
        PREP(sc, &k);                                                                             \
        Line ln;                                                                                  \
        line_start(&ln, lo);                                                                      \
        for (Py_ssize_t base = lo; base < n; base += BLOCK) {                                     \
            Masks m;                                                                              \
            if (base + BLOCK < n)                                                                 \
                BLOCK_FN(sc, &k, base, iis, pairs, &m);                                           \
            else                                                                                  \
                block_bytes(sc, base, &m);                                                        \
            for (;;) { /* the rest of the line in this block, then the next line */              \
                uint64_t seg = m.nl ? (m.nl & (0 - m.nl)) - 1 : ~0ULL; /* below the newline */    \
                if (iis) {                                                                        \
                    ln.spaces += POPCOUNT(m.a & seg);                                             \
                    if (m.b & seg)                                                                \
                        ln.odd = 1;                                                               \
                } else {                                                                          \
                    uint64_t q = m.a & seg;                                                       \
                    while (q && ln.nq < NQUOTES) {                                                \
                        ln.quotes[ln.nq++] = base + ctz64(q);                                     \
                        q &= q - 1;                                                               \
                    }                                                                             \
                    if (ln.close < 0 && (m.b & seg))                                              \
                        ln.close = base + ctz64(m.b & seg);                                       \
                    if (m.c & seg)                                                                \
                        ln.backslash = 1;                                                         \
                }                                                                                 \
                for (uint64_t pr = m.pairs & seg; pr && !ln.anchor; pr &= pr - 1)                 \
                    ln.anchor = anchor_at(sc, base + ctz64(pr));                                  \
                if (!m.nl)                                                                        \
                    break;                                                                        \
                Py_ssize_t end = base + ctz64(m.nl);                                              \
                int r = line_end(sc, &ln, end, lines, blank, ISA, iis);                           \
                if (r != 0)                                                                       \
                    return r < 0 ? -1 : end + 1;                                                  \
                line_start(&ln, end + 1);                                                         \
                uint64_t above = ~(seg | (m.nl & (0 - m.nl)));                                    \
                m.a &= above;                                                                     \
                m.b &= above;                                                                     \
                m.c &= above;                                                                     \
                m.pairs &= above;                                                                 \
                m.nl &= m.nl - 1;                                                                 \
            }                                                                                     \
        }                                                                                         \
        return n;                                                                                 \
    }

DEFINE_PASS(clf_bytes, , prep_plain, ConstsPlain, block_plain, popcount_plain, ISA_BYTES, 0)
DEFINE_PASS(iis_bytes, , prep_plain, ConstsPlain, block_plain, popcount_plain, ISA_BYTES, 1)
#if LS_X86
DEFINE_PASS(clf_sse2, , prep_sse2, Consts128, block_sse2, popcount_plain, ISA_SSE2, 0)
DEFINE_PASS(iis_sse2, , prep_sse2, Consts128, block_sse2, popcount_plain, ISA_SSE2, 1)
DEFINE_PASS(clf_avx2, AVX2, prep_avx2, Consts256, block_avx2, __builtin_popcountll, ISA_AVX2, 0)
DEFINE_PASS(iis_avx2, AVX2, prep_avx2, Consts256, block_avx2, __builtin_popcountll, ISA_AVX2, 1)
#endif

static int best_isa;

static int get_buffer(PyObject *obj, Py_buffer *view, const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS) < 0) {
        PyErr_Format(PyExc_TypeError, "%s must be a C-contiguous buffer", what);
        return -1;
    }
    return 0;
}

static PyObject *scan_block(PyObject *self, PyObject *args)
{
    PyObject *objs[6];
    Py_ssize_t lo, nfields;
    int mode, isa = -1;
    (void)self;
    if (!PyArg_ParseTuple(args, "OninOOOOO|i", &objs[0], &lo, &mode, &nfields, &objs[1], &objs[2],
                          &objs[3], &objs[4], &objs[5], &isa))
        return NULL;
    static const char *names[6] = {"buf", "table", "anc", "lens", "lower", "pairs"};
    Py_buffer views[6];
    int got = 0;
    PyObject *result = NULL;
    Scan sc;
    memset(&sc, 0, sizeof sc);
    for (; got < 6; got++)
        if (get_buffer(objs[got], &views[got], names[got]) < 0)
            goto done;
    Py_buffer *buf = &views[0], *anc = &views[2], *lens = &views[3], *lower = &views[4];
    if (mode < COMMON || mode > IIS) {
        PyErr_Format(PyExc_ValueError, "unknown mode %d", mode);
        goto done;
    }
    if (lower->len != 256 || lens->len % 8 != 0 || lens->len == 0) {
        PyErr_SetString(PyExc_ValueError, "lower must hold 256 bytes and lens int64 lengths");
        goto done;
    }
    sc.nanc = lens->len / 8;
    if (anc->len % sc.nanc != 0) {
        PyErr_SetString(PyExc_ValueError, "anc must be a (anchors, longest) byte array");
        goto done;
    }
    sc.width = anc->len / sc.nanc;
    sc.lens = malloc((size_t)sc.nanc * sizeof(int64_t));
    if (sc.lens == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(sc.lens, lens->buf, (size_t)sc.nanc * sizeof(int64_t));
    for (Py_ssize_t a = 0; a < sc.nanc; a++)
        if (sc.lens[a] < 0 || sc.lens[a] > sc.width || sc.lens[a] == 1) {
            PyErr_SetString(PyExc_ValueError, "an anchor's length is not 0 or 2..longest");
            goto done;
        }
    sc.buf = buf->buf;
    sc.n = buf->len;
    if (lo < 0 || lo > sc.n) {
        PyErr_SetString(PyExc_ValueError, "lo is outside the buffer");
        goto done;
    }
    if (lo < sc.n && sc.buf[sc.n - 1] != '\n') {
        PyErr_SetString(PyExc_ValueError, "the buffer must end with a newline");
        goto done;
    }
    sc.mode = mode;
    sc.nfields = nfields;
    sc.anc = anc->buf;
    sc.lower = lower->buf;
    classes(&sc);
    Py_ssize_t lines = 0, blank = 0, stop;
    Py_BEGIN_ALLOW_THREADS
    if (isa < 0 || isa > best_isa)
        isa = best_isa;
    int iis = mode == IIS;
#if LS_X86
    if (isa == ISA_AVX2)
        stop = (iis ? iis_avx2 : clf_avx2)(&sc, lo, &lines, &blank);
    else if (isa == ISA_SSE2)
        stop = (iis ? iis_sse2 : clf_sse2)(&sc, lo, &lines, &blank);
    else
#endif
        stop = (iis ? iis_bytes : clf_bytes)(&sc, lo, &lines, &blank);
    Py_END_ALLOW_THREADS
    if (stop < 0 || sc.oom) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject *rows = PyByteArray_FromStringAndSize((const char *)sc.rows,
                                                   sc.k * ROW * (Py_ssize_t)sizeof(int64_t));
    if (rows == NULL)
        goto done;
    result = Py_BuildValue("nnnN", stop, lines, blank, rows);
done:
    for (int i = 0; i < got; i++)
        PyBuffer_Release(&views[i]);
    free(sc.lens);
    free(sc.rows);
    return result;
}

static PyMethodDef methods[] = {
    {"scan_block", scan_block, METH_VARARGS,
     "scan_block(buf, lo, mode, nfields, table, anc, lens, lower, pairs[, isa]) -> (stop, "
     "lines, blank, rows): scankernel.scan_block's pass, rows as a bytearray of int64 rows."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_linescan",
    "The log scanner's pass in C (see wormlab/detect/cscan.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__linescan(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
#if LS_X86
    __builtin_cpu_init();
    best_isa = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi")
                       && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt")
                   ? ISA_AVX2
                   : ISA_SSE2;
#else
    best_isa = ISA_BYTES;
#endif
    if (PyModule_AddIntConstant(m, "ISA", best_isa) < 0
        || PyModule_AddIntConstant(m, "ROW", ROW) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
