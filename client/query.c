/*
 * --query through libjq.  Records go to jq and back as JSON text (the
 * records came as text too): yajl_val -> compact JSON -> jv, and each
 * output jv -> JSON -> yajl_val for the renderer.
 *
 * libjq is loaded with dlopen when --query is used: linked, it and
 * libonig cost every exoctl run about 450,000 instructions at start-up,
 * more than the whole run's budget.
 */
#include "client/query.h"
#include "client/dl.h"

#include <stdlib.h>
#include <string.h>

#include <jq.h>

#define QUERY_SONAME "libjq.so.1"
#define QUERY_PACKAGE "libjq1"
#define QUERY_PREFIX "jq: error: "  /* libjq's own start of a compile message */

struct query {
	jq_state *jq;
	int slurp;
	int halted;             /* the program called halt: later records are not its */
	size_t records;         /* seen, for messages */
	char *held;             /* --slurp: "[" and the records so far, comma-separated */
	size_t held_len;
	size_t held_cap;
	char msg[QUERY_MSG_MAX];        /* jq's first message while compiling */
};

static struct {
	__typeof__(jq_init) *jq_init;
	__typeof__(jq_set_error_cb) *jq_set_error_cb;
	__typeof__(jq_compile) *jq_compile;
	__typeof__(jq_start) *jq_start;
	__typeof__(jq_next) *jq_next;
	__typeof__(jq_teardown) *jq_teardown;
	__typeof__(jq_halted) *jq_halted;
	__typeof__(jq_get_exit_code) *jq_get_exit_code;
	__typeof__(jq_get_error_message) *jq_get_error_message;
	__typeof__(jv_parse_sized) *jv_parse_sized;
	__typeof__(jv_dump_string) *jv_dump_string;
	__typeof__(jv_string_value) *jv_string_value;
	__typeof__(jv_get_kind) *jv_get_kind;
	__typeof__(jv_copy) *jv_copy;
	__typeof__(jv_free) *jv_free;
	__typeof__(jv_invalid_has_msg) *jv_invalid_has_msg;
	__typeof__(jv_invalid_get_msg) *jv_invalid_get_msg;
	__typeof__(jv_number_value) *jv_number_value;
} jql;

#define QUERY_SYM(f) { #f, &jql.f }

static const struct dl_sym query_syms[] = {
	QUERY_SYM(jq_init), QUERY_SYM(jq_set_error_cb), QUERY_SYM(jq_compile),
	QUERY_SYM(jq_start), QUERY_SYM(jq_next), QUERY_SYM(jq_teardown),
	QUERY_SYM(jq_halted), QUERY_SYM(jq_get_exit_code), QUERY_SYM(jq_get_error_message),
	QUERY_SYM(jv_parse_sized), QUERY_SYM(jv_dump_string), QUERY_SYM(jv_string_value),
	QUERY_SYM(jv_get_kind), QUERY_SYM(jv_copy), QUERY_SYM(jv_free),
	QUERY_SYM(jv_invalid_has_msg), QUERY_SYM(jv_invalid_get_msg), QUERY_SYM(jv_number_value),
};

/* A message from jq as text: a string as it is, anything else as JSON.  Consumes msg. */
static void query_text(jv msg, char *out, size_t outlen)
{
	if (jql.jv_get_kind(msg) == JV_KIND_STRING) {
		snprintf(out, outlen, "%s", jql.jv_string_value(msg));
		jql.jv_free(msg);
	} else {
		jv s = jql.jv_dump_string(msg, 0);

		snprintf(out, outlen, "%s", jql.jv_string_value(s));
		jql.jv_free(s);
	}
}

/* Keeps the first message: later ones only count the errors ("jq: 1 compile error"). */
static void query_on_error(void *arg, jv msg)
{
	struct query *q = arg;
	size_t len;

	if (q->msg[0] != '\0') {
		jql.jv_free(msg);
		return;
	}
	query_text(msg, q->msg, sizeof(q->msg));

	if (strncmp(q->msg, QUERY_PREFIX, strlen(QUERY_PREFIX)) == 0)
		memmove(q->msg, q->msg + strlen(QUERY_PREFIX),
			strlen(q->msg) - strlen(QUERY_PREFIX) + 1);
	/* jq pads the program it quotes */
	len = strlen(q->msg);
	while (len > 0 && (q->msg[len - 1] == ' ' || q->msg[len - 1] == '\n'))
		q->msg[--len] = '\0';
}

struct query *query_new(const char *expr, int slurp, char *err, size_t errlen)
{
	struct query *q;

	if (jql.jq_init == NULL &&
	    dl_load(QUERY_SONAME, QUERY_PACKAGE, query_syms,
			  sizeof(query_syms) / sizeof(query_syms[0]), err, errlen) < 0)
		return NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL || (q->jq = jql.jq_init()) == NULL) {
		free(q);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->slurp = slurp;
	jql.jq_set_error_cb(q->jq, query_on_error, q);
	if (!jql.jq_compile(q->jq, expr)) {
		snprintf(err, errlen, "--query: %s", q->msg[0] != '\0' ? q->msg : "does not compile");
		query_free(q);
		return NULL;
	}
	return q;
}

void query_free(struct query *q)
{
	if (q == NULL)
		return;
	if (q->jq != NULL)
		jql.jq_teardown(&q->jq);
	free(q->held);
	free(q);
}

/* Where a runtime message comes from: the record, unless the program saw them all. */
static void query_fail(const struct query *q, const char *msg, char *err, size_t errlen)
{
	if (q->slurp)
		snprintf(err, errlen, "--query: %s", msg);
	else
		snprintf(err, errlen, "--query: record %zu: %s", q->records, msg);
}

/* One output of the program, handed to the renderer as a record.  Consumes v. */
static int query_emit(struct query *q, jv v, struct output *out, char *err, size_t errlen)
{
	jv text = jql.jv_dump_string(v, 0);
	char perr[QUERY_MSG_MAX];
	yajl_val rec = yajl_tree_parse(jql.jv_string_value(text), perr, sizeof(perr));
	int rc;

	jql.jv_free(text);
	if (rec == NULL) {
		/* jq writes what it cannot nest deeper as text that is not JSON */
		query_fail(q, "an output is nested too deeply", err, errlen);
		return QUERY_FAILED;
	}
	rc = output_record(out, rec, err, errlen);
	yajl_tree_free(rec);
	return rc < 0 ? QUERY_OUTPUT_FAILED : QUERY_OK;
}

/* halt ends the output quietly; halt_error with a message or a non-zero status is a failure. */
static int query_halt(struct query *q, char *err, size_t errlen)
{
	jv code = jql.jq_get_exit_code(q->jq), msg = jql.jq_get_error_message(q->jq);
	int failed = jql.jv_get_kind(code) == JV_KIND_NUMBER && jql.jv_number_value(code) != 0;
	char text[QUERY_MSG_MAX];

	jql.jv_free(code);
	q->halted = 1;
	if (jql.jv_get_kind(msg) == JV_KIND_INVALID && !failed) {
		jql.jv_free(msg);
		return QUERY_OK;
	}
	if (jql.jv_get_kind(msg) == JV_KIND_INVALID) {
		jql.jv_free(msg);
		query_fail(q, "halt_error", err, errlen);
	} else {
		query_text(msg, text, sizeof(text));
		query_fail(q, text, err, errlen);
	}
	return QUERY_FAILED;
}

/* Runs the program on input (consumed), rendering each output. */
static int query_run(struct query *q, jv input, struct output *out, char *err, size_t errlen)
{
	char text[QUERY_MSG_MAX];

	jql.jq_start(q->jq, input, 0);
	for (;;) {
		jv v = jql.jq_next(q->jq);
		int rc;

		if (jql.jv_get_kind(v) != JV_KIND_INVALID) {
			if ((rc = query_emit(q, v, out, err, errlen)) != QUERY_OK)
				return rc;
			continue;
		}
		if (jql.jv_invalid_has_msg(jql.jv_copy(v))) {
			query_text(jql.jv_invalid_get_msg(v), text, sizeof(text));
			query_fail(q, text, err, errlen);
			return QUERY_FAILED;
		}
		jql.jv_free(v);
		return jql.jq_halted(q->jq) ? query_halt(q, err, errlen) : QUERY_OK;
	}
}

/* JSON text to jv; a parse failure (jq's own depth limit, say) is reported. */
static int query_parse(struct query *q, const char *s, size_t len, jv *out, char *err,
		       size_t errlen)
{
	char text[QUERY_MSG_MAX];

	*out = jql.jv_parse_sized(s, (int)len);
	if (jql.jv_get_kind(*out) != JV_KIND_INVALID)
		return QUERY_OK;
	if (jql.jv_invalid_has_msg(jql.jv_copy(*out)))
		query_text(jql.jv_invalid_get_msg(*out), text, sizeof(text));
	else
		snprintf(text, sizeof(text), "jq cannot read it");
	query_fail(q, text, err, errlen);
	return QUERY_FAILED;
}

static int query_hold(struct query *q, const char *s, size_t len, char *err, size_t errlen)
{
	/* room for the separator and the closing bracket */
	if (len + 2 > QUERY_SLURP_MAX_BYTES - q->held_len) {
		snprintf(err, errlen, "--slurp holds at most %u MiB of records, and this result is "
			 "larger: use --query without --slurp, or ask for fewer records",
			 QUERY_SLURP_MAX_BYTES >> 20);
		return QUERY_FAILED;
	}
	if (q->held_len + len + 2 > q->held_cap) {
		size_t cap = q->held_cap > 0 ? q->held_cap : 4096;
		char *h;

		while (cap < q->held_len + len + 2)
			cap *= 2;
		if ((h = realloc(q->held, cap)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return QUERY_FAILED;
		}
		q->held = h;
		q->held_cap = cap;
	}
	q->held[q->held_len] = q->held_len == 0 ? '[' : ',';
	q->held_len++;
	memcpy(q->held + q->held_len, s, len);
	q->held_len += len;
	return QUERY_OK;
}

int query_record(struct query *q, yajl_val rec, struct output *out, char *err, size_t errlen)
{
	char *text;
	jv input;
	int rc;

	q->records++;
	if (q->halted)
		return QUERY_OK;
	if ((text = output_compact(rec)) == NULL) {
		query_fail(q, "cannot read the record (out of memory or nested too deeply)", err,
			   errlen);
		return QUERY_FAILED;
	}
	if (q->slurp)
		rc = query_hold(q, text, strlen(text), err, errlen);
	else if ((rc = query_parse(q, text, strlen(text), &input, err, errlen)) == QUERY_OK)
		rc = query_run(q, input, out, err, errlen);
	free(text);
	return rc;
}

int query_finish(struct query *q, struct output *out, char *err, size_t errlen)
{
	jv input;
	int rc;

	if (!q->slurp || q->halted)
		return QUERY_OK;
	if (q->held_len == 0 && query_hold(q, "", 0, err, errlen) != QUERY_OK)
		return QUERY_FAILED;
	q->held[q->held_len++] = ']';
	rc = query_parse(q, q->held, q->held_len, &input, err, errlen);
	free(q->held);
	q->held = NULL;
	q->held_len = q->held_cap = 0;
	return rc == QUERY_OK ? query_run(q, input, out, err, errlen) : rc;
}
