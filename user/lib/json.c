// SPDX-License-Identifier: GPL-2.0
#include "json.h"

void jw_init(struct json *jw, FILE *out, bool pretty)
{
	jw->out = out;
	jw->pretty = pretty;
	jw->depth = 0;
	jw->need_comma = false;
	jw->after_key = false;
}

static void jw_newline(struct json *jw)
{
	if (!jw->pretty)
		return;
	fputc('\n', jw->out);
	for (int i = 0; i < jw->depth; i++)
		fputs("    ", jw->out);
}

/* Called before every value or key that is not the value of a key. */
static void jw_item(struct json *jw)
{
	if (jw->need_comma)
		fputc(',', jw->out);
	if (jw->depth)
		jw_newline(jw);
	jw->need_comma = true;
}

static void jw_open(struct json *jw, char c)
{
	fputc(c, jw->out);
	jw->depth++;
	jw->need_comma = false;
}

static void jw_close(struct json *jw, char c)
{
	bool empty = !jw->need_comma;

	jw->depth--;
	if (!empty)
		jw_newline(jw);
	fputc(c, jw->out);
	jw->need_comma = true;
}

static void jw_value(struct json *jw)
{
	if (jw->after_key)
		jw->after_key = false;
	else
		jw_item(jw);
}

void jw_start_object(struct json *jw)
{
	jw_value(jw);
	jw_open(jw, '{');
}

void jw_end_object(struct json *jw)
{
	jw_close(jw, '}');
}

void jw_start_array(struct json *jw)
{
	jw_value(jw);
	jw_open(jw, '[');
}

void jw_end_array(struct json *jw)
{
	jw_close(jw, ']');
}

static void jw_quoted(struct json *jw, const char *s)
{
	fputc('"', jw->out);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(jw->out, "\\%c", c);
		else if (c < 0x20)
			fprintf(jw->out, "\\u%04x", c);
		else
			fputc(c, jw->out);
	}
	fputc('"', jw->out);
}

void jw_key(struct json *jw, const char *key)
{
	jw_item(jw);
	jw_quoted(jw, key);
	fputs(jw->pretty ? ": " : ":", jw->out);
	jw->after_key = true;
}

void jw_string(struct json *jw, const char *s)
{
	jw_value(jw);
	jw_quoted(jw, s);
}

void jw_uint(struct json *jw, uint64_t v)
{
	jw_value(jw);
	fprintf(jw->out, "%llu", (unsigned long long)v);
}

void jw_bool(struct json *jw, bool v)
{
	jw_value(jw);
	fputs(v ? "true" : "false", jw->out);
}

void jw_null(struct json *jw)
{
	jw_value(jw);
	fputs("null", jw->out);
}

void jw_finish(struct json *jw)
{
	fputc('\n', jw->out);
	fflush(jw->out);
}
