/* SPDX-License-Identifier: GPL-2.0 */
/* A small streaming JSON writer for -j/-p output. */
#ifndef BPFMASQ_JSON_H
#define BPFMASQ_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json {
	FILE *out;
	bool pretty;
	int depth;
	bool need_comma;
	bool after_key;	/* next value belongs to a key: no comma */
};

void jw_init(struct json *jw, FILE *out, bool pretty);
void jw_start_object(struct json *jw);
void jw_end_object(struct json *jw);
void jw_start_array(struct json *jw);
void jw_end_array(struct json *jw);
void jw_key(struct json *jw, const char *key);
void jw_string(struct json *jw, const char *s);
void jw_uint(struct json *jw, uint64_t v);
void jw_bool(struct json *jw, bool v);
void jw_null(struct json *jw);
void jw_finish(struct json *jw);

static inline void jw_kv_string(struct json *jw, const char *k, const char *v)
{
	jw_key(jw, k);
	jw_string(jw, v);
}

static inline void jw_kv_uint(struct json *jw, const char *k, uint64_t v)
{
	jw_key(jw, k);
	jw_uint(jw, v);
}

#endif
