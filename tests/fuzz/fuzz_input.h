/* SPDX-License-Identifier: GPL-2.0 */
/* What the ALG parsers' fuzz targets share. */
#ifndef BPFMASQ_FUZZ_INPUT_H
#define BPFMASQ_FUZZ_INPUT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Larger inputs than a segment can hold teach nothing new. */
#define MAX_INPUT 4096

/* A failed invariant must crash, also when built with -DNDEBUG. */
#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/*
 * The input as an exact-size heap copy, so ASan sees any read past its
 * end (libFuzzer's own buffer may have room behind it); NULL for an input
 * over MAX_INPUT.  The caller frees it.
 */
static inline char *fuzz_input(const uint8_t *data, size_t size)
{
	char *p;

	if (size > MAX_INPUT)
		return NULL;
	p = malloc(size ? size : 1);
	if (p)
		memcpy(p, data, size);
	return p;
}

#endif
