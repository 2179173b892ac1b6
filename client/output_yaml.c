/*
 * YAML through libyaml's emitter: the result is a sequence of mappings.
 * libyaml does not resolve types, so a string a YAML reader would take
 * for a bool, a number, a null or a date is quoted here, and the reader
 * gets a string back.  libyaml is loaded at first use (dl_load).
 */
#include "client/dl.h"
#include "client/output_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#define OUTPUT_YAML_SONAME "libyaml-0.so.2"
#define OUTPUT_YAML_PACKAGE "libyaml-0-2"
#define OUTPUT_YAML_INDENT 2

struct output_yaml {
	yaml_emitter_t em;
};

static struct {
	__typeof__(yaml_emitter_initialize) *yaml_emitter_initialize;
	__typeof__(yaml_emitter_delete) *yaml_emitter_delete;
	__typeof__(yaml_emitter_set_output_file) *yaml_emitter_set_output_file;
	__typeof__(yaml_emitter_set_unicode) *yaml_emitter_set_unicode;
	__typeof__(yaml_emitter_set_width) *yaml_emitter_set_width;
	__typeof__(yaml_emitter_set_indent) *yaml_emitter_set_indent;
	__typeof__(yaml_emitter_emit) *yaml_emitter_emit;
	__typeof__(yaml_emitter_flush) *yaml_emitter_flush;
	__typeof__(yaml_stream_start_event_initialize) *yaml_stream_start_event_initialize;
	__typeof__(yaml_stream_end_event_initialize) *yaml_stream_end_event_initialize;
	__typeof__(yaml_document_start_event_initialize) *yaml_document_start_event_initialize;
	__typeof__(yaml_document_end_event_initialize) *yaml_document_end_event_initialize;
	__typeof__(yaml_sequence_start_event_initialize) *yaml_sequence_start_event_initialize;
	__typeof__(yaml_sequence_end_event_initialize) *yaml_sequence_end_event_initialize;
	__typeof__(yaml_mapping_start_event_initialize) *yaml_mapping_start_event_initialize;
	__typeof__(yaml_mapping_end_event_initialize) *yaml_mapping_end_event_initialize;
	__typeof__(yaml_scalar_event_initialize) *yaml_scalar_event_initialize;
} yl;

#define OUTPUT_YAML_SYM(f) { #f, &yl.f }

static const struct dl_sym output_yaml_syms[] = {
	OUTPUT_YAML_SYM(yaml_emitter_initialize),
	OUTPUT_YAML_SYM(yaml_emitter_delete),
	OUTPUT_YAML_SYM(yaml_emitter_set_output_file),
	OUTPUT_YAML_SYM(yaml_emitter_set_unicode),
	OUTPUT_YAML_SYM(yaml_emitter_set_width),
	OUTPUT_YAML_SYM(yaml_emitter_set_indent),
	OUTPUT_YAML_SYM(yaml_emitter_emit),
	OUTPUT_YAML_SYM(yaml_emitter_flush),
	OUTPUT_YAML_SYM(yaml_stream_start_event_initialize),
	OUTPUT_YAML_SYM(yaml_stream_end_event_initialize),
	OUTPUT_YAML_SYM(yaml_document_start_event_initialize),
	OUTPUT_YAML_SYM(yaml_document_end_event_initialize),
	OUTPUT_YAML_SYM(yaml_sequence_start_event_initialize),
	OUTPUT_YAML_SYM(yaml_sequence_end_event_initialize),
	OUTPUT_YAML_SYM(yaml_mapping_start_event_initialize),
	OUTPUT_YAML_SYM(yaml_mapping_end_event_initialize),
	OUTPUT_YAML_SYM(yaml_scalar_event_initialize),
};

/* Words YAML 1.1 or 1.2 readers resolve to a bool, a null, infinity or not-a-number. */
static const char *const output_yaml_words[] = {
	"", "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n",
	".inf", "-.inf", "+.inf", ".nan", "<<", "=",
};

/*
 * 1 when a plain s might not read back as a string.  Anything that
 * starts like a number (a digit after an optional sign and dot) is
 * quoted: ints, floats, octal and hex, YAML 1.1's 1:30 and dates.
 * Quoting more than needed costs nothing.
 */
static int output_yaml_special(const char *s)
{
	size_t i = 0;

	for (size_t w = 0; w < sizeof(output_yaml_words) / sizeof(output_yaml_words[0]); w++)
		if (strcasecmp(s, output_yaml_words[w]) == 0)
			return 1;
	if (s[i] == '+' || s[i] == '-')
		i++;
	if (s[i] == '.')
		i++;
	return isdigit((unsigned char)s[i]);
}

static int output_yaml_emit(struct output_yaml *y, yaml_event_t *ev, int ok)
{
	return ok && yl.yaml_emitter_emit(&y->em, ev) ? 0 : -1;
}

static int output_yaml_scalar(struct output_yaml *y, const char *s, int is_string)
{
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
	yaml_event_t ev;

	if (is_string && output_yaml_special(s))
		style = YAML_SINGLE_QUOTED_SCALAR_STYLE;
	return output_yaml_emit(y, &ev, yl.yaml_scalar_event_initialize(&ev, NULL, NULL,
		(yaml_char_t *)s, (int)strlen(s), 1, 1, style));
}

/*
 * A number with an exponent as both YAML 1.1 and 1.2 read a float: a
 * dot in the mantissa and a sign on the exponent (1.5e3 is 1.5e+3, 1e3
 * is 1.0e+3); YAML 1.1 readers take 1.5e3 for a string.
 */
static int output_yaml_number(struct output_yaml *y, const char *r)
{
	size_t e = strcspn(r, "eE"), len = strlen(r);
	char *s;
	int rc;

	if (r[e] == '\0')
		return output_yaml_scalar(y, r, 0);
	if ((s = malloc(len + sizeof(".0+"))) == NULL)
		return -1;
	memcpy(s, r, e);
	snprintf(s + e, len + sizeof(".0+") - e, "%se%s%s", memchr(r, '.', e) ? "" : ".0",
		 r[e + 1] == '+' || r[e + 1] == '-' ? "" : "+", r + e + 1);
	rc = output_yaml_scalar(y, s, 0);
	free(s);
	return rc;
}

static int output_yaml_node(struct output_yaml *y, yajl_val v, int depth);

/* A mapping or a sequence, in block style, its members a level deeper. */
static int output_yaml_nested(struct output_yaml *y, yajl_val v, int depth)
{
	int map = YAJL_IS_OBJECT(v);
	size_t n = map ? v->u.object.len : v->u.array.len;
	yaml_event_t ev;
	int ok = map ?
		yl.yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) :
		yl.yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);

	if (output_yaml_emit(y, &ev, ok) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (map && output_yaml_scalar(y, v->u.object.keys[i], 1) < 0)
			return -1;
		if (output_yaml_node(y, map ? v->u.object.values[i] : v->u.array.values[i],
				     depth + 1) < 0)
			return -1;
	}
	ok = map ? yl.yaml_mapping_end_event_initialize(&ev) :
		   yl.yaml_sequence_end_event_initialize(&ev);
	return output_yaml_emit(y, &ev, ok);
}

static int output_yaml_node(struct output_yaml *y, yajl_val v, int depth)
{
	if (depth > OUTPUT_MAX_DEPTH)
		return -1;
	if (v == NULL || YAJL_IS_NULL(v))
		return output_yaml_scalar(y, "null", 0);
	if (YAJL_IS_STRING(v))
		return output_yaml_scalar(y, v->u.string, 1);
	if (YAJL_IS_NUMBER(v))
		return output_yaml_number(y, v->u.number.r);
	if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
		return output_yaml_scalar(y, YAJL_IS_TRUE(v) ? "true" : "false", 0);
	if (YAJL_IS_OBJECT(v) || YAJL_IS_ARRAY(v))
		return output_yaml_nested(y, v, depth);
	return -1;
}

static int output_yaml_start(struct output *o, char *err, size_t errlen)
{
	struct output_yaml *y;
	yaml_event_t ev;

	if (dl_load(OUTPUT_YAML_SONAME, OUTPUT_YAML_PACKAGE, output_yaml_syms,
			  sizeof(output_yaml_syms) / sizeof(output_yaml_syms[0]), err, errlen) < 0)
		return -1;
	if ((y = calloc(1, sizeof(*y))) == NULL || !yl.yaml_emitter_initialize(&y->em)) {
		free(y);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	o->yaml = y;
	yl.yaml_emitter_set_output_file(&y->em, o->fp);
	yl.yaml_emitter_set_unicode(&y->em, 1);
	yl.yaml_emitter_set_width(&y->em, -1);  /* long values stay on their line */
	yl.yaml_emitter_set_indent(&y->em, OUTPUT_YAML_INDENT);
	if (output_yaml_emit(y, &ev, yl.yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING)) < 0 ||
	    output_yaml_emit(y, &ev, yl.yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1)) < 0 ||
	    output_yaml_emit(y, &ev, yl.yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
			     YAML_BLOCK_SEQUENCE_STYLE)) < 0) {
		snprintf(err, errlen, "cannot write yaml");
		return -1;
	}
	return 0;
}

int output_yaml_record(struct output *o, yajl_val rec, char *err, size_t errlen)
{
	if (o->yaml == NULL && output_yaml_start(o, err, errlen) < 0)
		return -1;
	if (output_yaml_node(o->yaml, rec, 0) < 0 || !yl.yaml_emitter_flush(&o->yaml->em)) {
		snprintf(err, errlen, "cannot render a record as yaml (%s)",
			 o->yaml->em.problem != NULL ? o->yaml->em.problem : "nested too deeply");
		return -1;
	}
	return 0;
}

int output_yaml_finish(struct output *o, char *err, size_t errlen)
{
	struct output_yaml *y;
	yaml_event_t ev;

	if (o->yaml == NULL && output_yaml_start(o, err, errlen) < 0)
		return -1;
	y = o->yaml;
	if (output_yaml_emit(y, &ev, yl.yaml_sequence_end_event_initialize(&ev)) < 0 ||
	    output_yaml_emit(y, &ev, yl.yaml_document_end_event_initialize(&ev, 1)) < 0 ||
	    output_yaml_emit(y, &ev, yl.yaml_stream_end_event_initialize(&ev)) < 0 ||
	    !yl.yaml_emitter_flush(&y->em)) {
		snprintf(err, errlen, "cannot write yaml");
		return -1;
	}
	return 0;
}

void output_yaml_free(struct output *o)
{
	if (o->yaml == NULL)
		return;
	yl.yaml_emitter_delete(&o->yaml->em);
	free(o->yaml);
	o->yaml = NULL;
}
