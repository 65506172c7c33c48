/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the application-layer gateways (FTP, IRC DCC) share: the outcome of
 * a parse and the in-place rewrite of a TCP payload.  Plain C on byte
 * buffers, no libbpf, so the parsers can be unit-tested and fuzzed alone.
 */
#ifndef BPFMASQ_ALG_COMMON_H
#define BPFMASQ_ALG_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <linux/types.h>

/*
 * ALG_MALFORMED: a command or offer the ALG handles, but broken (numbers
 * out of range, wrong field count, junk): the caller passes the segment
 * unchanged and creates nothing.
 * ALG_PARTIAL: the segment ends inside a line that is, so far, a command
 * the ALG handles (or a prefix of its keyword): its argument may continue
 * in the next segment.  What to do (drop and wait for the retransmission,
 * as Linux does, or pass) is the caller's policy.
 */
enum alg_result {
	ALG_NO_MATCH = 0,
	ALG_MATCH = 1,
	ALG_MALFORMED = -1,
	ALG_PARTIAL = -2,
};

/*
 * Replace payload[off, off + old_len) with rep[0, rep_len) in a buffer of
 * len bytes that can hold cap.  Returns the new payload length, or -1 when
 * the range is outside the payload or the result would not fit (the
 * payload is then untouched).  Several rewrites of one segment must be
 * applied back to front, so the offsets the parser returned stay valid.
 */
static inline long alg_replace(char *payload, size_t len, size_t cap,
			       size_t off, size_t old_len,
			       const char *rep, size_t rep_len)
{
	size_t tail;

	if (len > cap || off > len || old_len > len - off)
		return -1;
	tail = len - off - old_len;
	if (rep_len > cap - off || tail > cap - off - rep_len)
		return -1;
	memmove(payload + off + rep_len, payload + off + old_len, tail);
	memcpy(payload + off, rep, rep_len);
	return (long)(off + rep_len + tail);
}

/*
 * A cursor over one line of a payload for the parsers.  The line ends at
 * its first CR or LF; when the payload ends first, the line is incomplete
 * and running out of it means "wait for more" (ALG_PARTIAL), not "broken".
 */
struct alg_line {
	const char *p;		/* the whole payload: offsets are into it */
	size_t pos;		/* next byte to read */
	size_t end;		/* the line's CR/LF, or the payload's end */
	bool complete;		/* end is a CR/LF */
};

static inline void alg_line_init(struct alg_line *l, const char *p, size_t len,
				 size_t start)
{
	size_t i = start;

	while (i < len && p[i] != '\r' && p[i] != '\n')
		i++;
	l->p = p;
	l->pos = start;
	l->end = i;
	l->complete = i < len;
}

/* The offset just after the next LF at or after pos, or len. */
static inline size_t alg_next_line(const char *p, size_t len, size_t pos)
{
	const char *nl = pos < len ? memchr(p + pos, '\n', len - pos) : NULL;

	return nl ? (size_t)(nl - p) + 1 : len;
}

/* The verdict when the line ended before the syntax was complete. */
static inline int alg_line_short(const struct alg_line *l)
{
	return l->complete ? ALG_MALFORMED : ALG_PARTIAL;
}

static inline bool alg_line_at_end(const struct alg_line *l)
{
	return l->pos >= l->end;
}

static inline int alg_line_peek(const struct alg_line *l)
{
	return alg_line_at_end(l) ? -1 : (unsigned char)l->p[l->pos];
}

static inline bool alg_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline int alg_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Consume ch, or say why it is not there. */
static inline int alg_line_expect(struct alg_line *l, char ch)
{
	if (alg_line_at_end(l))
		return alg_line_short(l);
	if (l->p[l->pos] != ch)
		return ALG_MALFORMED;
	l->pos++;
	return ALG_MATCH;
}

/* Consume at least one space. */
static inline int alg_line_spaces(struct alg_line *l)
{
	int err = alg_line_expect(l, ' ');

	while (err == ALG_MATCH && alg_line_peek(l) == ' ')
		l->pos++;
	return err;
}

/*
 * Consume the keyword kw (lower case), case-insensitively.  ALG_NO_MATCH
 * when the line says something else; ALG_PARTIAL when an incomplete line
 * ends inside something that could still be kw.
 */
static inline int alg_line_keyword(struct alg_line *l, const char *kw)
{
	size_t i;

	for (i = 0; kw[i]; i++) {
		if (l->pos + i >= l->end)
			return l->complete ? ALG_NO_MATCH : ALG_PARTIAL;
		if (alg_lower((unsigned char)l->p[l->pos + i]) != kw[i])
			return ALG_NO_MATCH;
	}
	l->pos += i;
	return ALG_MATCH;
}

/*
 * Consume a decimal number no larger than max (leading zeros allowed).
 * A number that reaches the end of an incomplete line may have more
 * digits in the next segment: ALG_PARTIAL.
 */
static inline int alg_line_decimal(struct alg_line *l, __u64 max, __u64 *val)
{
	__u64 v = 0;
	size_t start = l->pos;

	while (!alg_line_at_end(l) && alg_is_digit(l->p[l->pos])) {
		v = v * 10 + (__u64)(l->p[l->pos] - '0');
		if (v > max)
			return ALG_MALFORMED;
		l->pos++;
	}
	if (alg_line_at_end(l) && !l->complete)
		return ALG_PARTIAL;
	if (l->pos == start)
		return ALG_MALFORMED;
	*val = v;
	return ALG_MATCH;
}

/* The decimal of v into buf (room for 10 bytes, no NUL); returns its length. */
static inline size_t alg_put_u32(char *buf, __u32 v)
{
	char digits[10];
	size_t n = 0, i;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = digits[n - 1 - i];
	return n;
}

#endif /* BPFMASQ_ALG_COMMON_H */
