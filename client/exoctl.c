/* exoctl: the command-line client of exod; parses its arguments and dispatches one command. */
#include <errno.h>
#include <fcntl.h>
#include <stdio_ext.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "client/args.h"
#include "client/browser.h"
#include "client/check.h"
#include "client/conn.h"
#include "client/discover.h"
#include "client/output.h"
#include "client/params.h"
#include "client/progress.h"
#include "client/query.h"
#include "client/shell.h"
#include "common/binder.h"
#include "common/catalogue.h"
#include "common/sbuf.h"
#include "common/wire.h"

#ifndef EXOD_VERSION
#define EXOD_VERSION "0.1.0"
#endif

#define EXOCTL_DEFAULT_SOCKET "/run/exod/exod.sock"
#define EXOCTL_MAX_PASSWORD 1024        /* bytes of a password typed at login */
#define EXOCTL_MAX_COLUMNS 4096         /* a $COLUMNS beyond this is ignored */
#define EXOCTL_TTY_WIDTH 80             /* a terminal that does not say its width */
#define EXOCTL_ERR_LEN 1024
#define EXOCTL_REQUEST_ID "1"

enum {
	EXOCTL_EXIT_OK = 0,
	EXOCTL_EXIT_FAILED = 1,
	EXOCTL_EXIT_USAGE = 2,
	EXOCTL_EXIT_UNREACHABLE = 3,
};

struct exoctl {
	const char *socket;
	const char *profile;
	enum output_format fmt;
	int quiet;
	int width;
	int tty;                        /* stdout is a terminal */
	int progress;                   /* a live line on stderr, a terminal */
	int progress_width;
	const char *query;              /* --query, compiled by the command that renders records */
	int slurp;
	char **select;                  /* --select, parsed */
	const struct args *args;
};

/*
 * Where a run's answer goes: records to out (through q with --query), the
 * live line to prog; an error's message also to why when it is set.
 */
struct exoctl_sink {
	struct output *out;
	struct query *q;
	struct progress *prog;
	char *why;
	size_t whylen;
};

/* What exoctl login was told: the method, and for the browser how to wait. */
struct exoctl_login_opts {
	const char *method;             /* "device", "password", "browser", or NULL: the profile's */
	int browser_opts;               /* --timeout, --port or --no-open was given */
	struct browser_options b;
};

/* A request line in a fixed buffer: bounded by the wire limit, wiped in one place. */
struct exoctl_req {
	char buf[WIRE_MAX_LINE];
	size_t len;
	int overflow;
	int failed;
	yajl_gen g;
};

struct exoctl_cmd {
	const char *name;
	int (*run)(const struct exoctl *x, int argc, char **argv);
	const char *usage;              /* the words after the command */
	const char *summary;            /* one line */
	const char *details;            /* the command's own options, or NULL */
};

static const struct exoctl_cmd *exoctl_find_cmd(const char *name);

static int exoctl_width(void);

/* static: 64 KiB is too much for the stack of a small tool */
static struct exoctl_req exoctl_request;

static const char *const exoctl_status_columns[] = {
	"name", "state", "auth", "service", "identity", "token_expires_in", "in_flight", "queued",
	"last_error", "region_host", NULL,
};

static const char exoctl_options_help[] =
	"options, valid anywhere on the line in their long form (short forms before the command,\n"
	"or anywhere for commands other than run; after `run CMDLET`, -Word is a cmdlet parameter):\n"
	"  -s, --socket PATH     exod's socket ($EXOD_SOCKET, the config file, or " EXOCTL_DEFAULT_SOCKET ")\n"
	"  -p, --profile NAME    the profile ($EXOD_PROFILE, the config file, or exod's default)\n"
	"  -o, --output FORMAT   table, list, json, ndjson, csv, tsv or yaml\n"
	"      --select A,B      only these fields, in this order\n"
	"      --query JQ        a jq expression applied to each record (--slurp: to the whole result)\n"
	"  -q, --quiet           no warnings, no progress line, no confirmations (pong, signed in)\n"
	"      --no-progress     no live progress line on a terminal\n"
	"  -h, --help            help (exoctl COMMAND --help, exoctl help CMDLET)\n"
	"  -V, --version         exoctl's version\n"
	"  --                    the words after it are not exoctl's options\n"
	"defaults: $XDG_CONFIG_HOME/exoctl/config (~/.config/exoctl/config) may set socket, profile\n"
	"and output.  Exit status: 0 ok, 1 the cmdlet failed, 2 usage, 3 exod unreachable,\n"
	"4 sign-in needed or failed, 5 throttled or timed out, 6 forbidden.  See exoctl(1).\n";

static void exoctl_usage(FILE *fp);
static void exoctl_cmd_usage(FILE *fp, const struct exoctl_cmd *cmd);

static int exoctl_usage_error(const char *msg)
{
	fprintf(stderr, "exoctl: %s\n", msg);
	fputs("Try 'exoctl --help'.\n", stderr);
	return EXOCTL_EXIT_USAGE;
}

static void exoctl_req_print(void *ctx, const char *s, size_t len)
{
	struct exoctl_req *r = ctx;

	/* one byte stays free for the newline WIRE_MAX_LINE counts */
	if (r->overflow || len > sizeof(r->buf) - 1 - r->len) {
		r->overflow = 1;
		return;
	}
	memcpy(r->buf + r->len, s, len);
	r->len += len;
}

static void exoctl_req_check(struct exoctl_req *r, yajl_gen_status st)
{
	if (st != yajl_gen_status_ok)
		r->failed = 1;
}

static void exoctl_req_str(struct exoctl_req *r, const char *key, const char *val)
{
	exoctl_req_check(r, yajl_gen_string(r->g, (const unsigned char *)key, strlen(key)));
	exoctl_req_check(r, yajl_gen_string(r->g, (const unsigned char *)val, strlen(val)));
}

static int exoctl_req_begin(struct exoctl_req *r, const struct exoctl *x, const char *op,
			    int with_profile)
{
	r->len = 0;
	r->overflow = 0;
	r->failed = 0;
	r->g = yajl_gen_alloc(NULL);
	if (r->g == NULL || !yajl_gen_config(r->g, yajl_gen_print_callback, exoctl_req_print, r) ||
	    !yajl_gen_config(r->g, yajl_gen_validate_utf8, 1)) {
		fprintf(stderr, "exoctl: out of memory\n");
		return -1;
	}
	exoctl_req_check(r, yajl_gen_map_open(r->g));
	exoctl_req_str(r, "id", EXOCTL_REQUEST_ID);
	exoctl_req_str(r, "op", op);
	if (with_profile && x->profile != NULL)
		exoctl_req_str(r, "profile", x->profile);
	return 0;
}

static void exoctl_req_wipe(struct exoctl_req *r)
{
	/* Only what was written can hold a password. */
	sbuf_wipe(r->buf, r->len < sizeof(r->buf) ? r->len : sizeof(r->buf));
	r->len = 0;
	if (r->g != NULL)
		yajl_gen_free(r->g);
	r->g = NULL;
}

static int exoctl_req_end(struct exoctl_req *r)
{
	exoctl_req_check(r, yajl_gen_map_close(r->g));
	if (r->overflow) {
		fprintf(stderr, "exoctl: the request is longer than %d bytes\n", WIRE_MAX_LINE);
		return -1;
	}
	if (r->failed) {
		fprintf(stderr, "exoctl: cannot encode the request (text that is not UTF-8?)\n");
		return -1;
	}
	return 0;
}

static const char *exoctl_get_str(yajl_val v, const char *a, const char *b)
{
	const char *path[] = { a, b, NULL };
	yajl_val s = yajl_tree_get(v, path, yajl_t_string);

	return s != NULL ? s->u.string : NULL;
}

/* The module's error suffix, for Microsoft support: [Server=...,RequestId=...,TimeStamp=...]. */
static void exoctl_print_request(yajl_val v)
{
	const char *server = exoctl_get_str(v, "error", "server");
	const char *rid = exoctl_get_str(v, "error", "request_id");
	const char *when = exoctl_get_str(v, "error", "timestamp");
	const char *sep = " [";

	if (server == NULL && rid == NULL && when == NULL)
		return;
	if (server != NULL) {
		fputs(" [Server=", stderr);
		output_put_text(stderr, server);
		sep = ",";
	}
	if (rid != NULL) {
		fprintf(stderr, "%sRequestId=", sep);
		output_put_text(stderr, rid);
		sep = ",";
	}
	if (when != NULL) {
		fprintf(stderr, "%sTimeStamp=", sep);
		output_put_text(stderr, when);
	}
	fputc(']', stderr);
}

static int exoctl_print_error(yajl_val v)
{
	const char *code = exoctl_get_str(v, "error", "code");
	const char *msg = exoctl_get_str(v, "error", "message");

	fputs("exoctl: ", stderr);
	output_put_text(stderr, code != NULL ? code : "Error");
	fputs(": ", stderr);
	output_put_text(stderr, msg != NULL ? msg : "(no message)");
	exoctl_print_request(v);
	fputc('\n', stderr);
	return code != NULL ? wire_error_exit_status(code) : EXOCTL_EXIT_FAILED;
}

/* A non-terminating error of the cmdlet, shown as it comes, as PowerShell writes each. */
static void exoctl_print_cmdlet_error(yajl_val v)
{
	const char *msg = exoctl_get_str(v, "error", "message");
	const char *code = exoctl_get_str(v, "error", "code");

	fputs("ERROR: ", stderr);
	output_put_text(stderr, msg != NULL ? msg : "(no message)");
	if (code != NULL) {
		fputs(" (", stderr);
		output_put_text(stderr, code);
		fputc(')', stderr);
	}
	exoctl_print_request(v);
	fputc('\n', stderr);
}

/* The service's confirmation, as the module prints -WhatIf's: "What if: ...". */
static void exoctl_print_confirmation(yajl_val v)
{
	const char *msg = exoctl_get_str(v, "message", NULL);

	if (msg == NULL)
		return;
	if (strncasecmp(msg, "What if:", 8) != 0)
		fputs("What if: ", stderr);
	output_put_text(stderr, msg);
	fputc('\n', stderr);
}

/* Writing stdout failed: a reader that went away (| head) ends exoctl quietly. */
static int exoctl_output_failed(const char *msg)
{
	if (errno == EPIPE)
		return EXOCTL_EXIT_OK;
	fprintf(stderr, "exoctl: %s\n", msg);
	return EXOCTL_EXIT_FAILED;
}

static void exoctl_print_login(const struct exoctl *x, yajl_val v)
{
	const char *msg = exoctl_get_str(v, "message", NULL);
	const char *uri = exoctl_get_str(v, "verification_uri", NULL);
	const char *code = exoctl_get_str(v, "user_code", NULL);

	(void)x;
	if (msg != NULL) {
		output_put_text(stderr, msg);
	} else {
		fputs("To sign in, open ", stderr);
		output_put_text(stderr, uri != NULL ? uri : "the sign-in page");
		fputs(" and enter the code ", stderr);
		output_put_text(stderr, code != NULL ? code : "?");
	}
	fputc('\n', stderr);
	fflush(stderr);
}

/* Anything written to the terminal first erases the progress line. */
static void exoctl_stderr_begin(struct progress *prog)
{
	progress_clear(prog);
}

static void exoctl_print_warning(yajl_val v)
{
	const char *msg = exoctl_get_str(v, "message", NULL);

	fputs("WARNING: ", stderr);
	output_put_text(stderr, msg != NULL ? msg : "");
	fputc('\n', stderr);
}

/* One record to the output, through --query when there is one; -1 ends the exchange. */
/* A record as exod sent it (rec NULL), or as a tree. */
static int exoctl_record(const struct exoctl *x, yajl_val rec, const struct conn_answer *a,
			 struct exoctl_sink *k, int *rc)
{
	char err[EXOCTL_ERR_LEN];
	int qrc = QUERY_OK;

	progress_record(k->prog);
	if (x->tty && !output_holds_back(k->out))
		progress_clear(k->prog);
	if (rec == NULL && a->record != NULL) {
		if (output_record_raw(k->out, a->record, a->record_len, err, sizeof(err)) < 0)
			qrc = QUERY_OUTPUT_FAILED;
	} else if (k->q != NULL) {
		qrc = query_record(k->q, rec, k->out, err, sizeof(err));
	} else if (output_record(k->out, rec, err, sizeof(err)) < 0) {
		qrc = QUERY_OUTPUT_FAILED;
	}
	if (qrc == QUERY_FAILED) {
		progress_clear(k->prog);
		fprintf(stderr, "exoctl: %s\n", err);
		*rc = EXOCTL_EXIT_USAGE;
	} else if (qrc == QUERY_OUTPUT_FAILED) {
		*rc = exoctl_output_failed(err);
	}
	return qrc == QUERY_OK ? 0 : -1;
}

/* Handles one event line; -1 ends the exchange with *rc. */
static int exoctl_event(const struct exoctl *x, yajl_val v, const char *type,
			struct exoctl_sink *k, int *rc)
{
	static const char *data_path[] = { "data", NULL };
	struct progress *prog = k != NULL ? k->prog : NULL;

	if (strcmp(type, "record") == 0 && k != NULL && k->out != NULL)
		return exoctl_record(x, yajl_tree_get(v, data_path, yajl_t_any), NULL, k, rc);
	if (strcmp(type, "progress") == 0) {
		progress_event(prog, v, progress_now_ms());
	} else if (strcmp(type, "warning") == 0 && !x->quiet) {
		exoctl_stderr_begin(prog);
		exoctl_print_warning(v);
	} else if (strcmp(type, "cmdlet_error") == 0) {
		exoctl_stderr_begin(prog);
		exoctl_print_cmdlet_error(v);
	} else if (strcmp(type, "confirmation") == 0) {
		exoctl_stderr_begin(prog);
		exoctl_print_confirmation(v);
	} else if (strcmp(type, "login") == 0) {
		exoctl_stderr_begin(prog);
		exoctl_print_login(x, v);
	}
	return 0;
}

/*
 * Waits for the next answer line; with a progress line, wakes to redraw
 * it.  Before waiting, what is buffered for stdout goes out.
 */
static int exoctl_wait(const struct exoctl *x, struct conn *c, struct progress *prog)
{
	int ms;

	if (conn_pending(c))
		return 0;
	if (x->tty && prog != NULL && __fpending(stdout) > 0)
		progress_clear(prog);
	if (fflush(stdout) != 0)
		return exoctl_output_failed("cannot write output");
	while (prog != NULL && (ms = progress_wait_ms(prog, progress_now_ms())) >= 0) {
		if (conn_wait(c, ms))
			break;
		progress_draw(prog, progress_now_ms());
	}
	return 0;
}

/*
 * Sends r on c (wiping it once sent) and reads the answer, handing records
 * to k; closes c.  Returns the exit status; on success *done holds the
 * done line.
 */
static int exoctl_converse(const struct exoctl *x, struct conn *c, struct exoctl_req *r,
			   struct exoctl_sink *k, yajl_val *done)
{
	struct progress *prog = k != NULL ? k->prog : NULL;
	char err[EXOCTL_ERR_LEN];
	int rc = EXOCTL_EXIT_UNREACHABLE;

	*done = NULL;
	if (conn_send(c, r->buf, r->len, err, sizeof(err)) < 0) {
		fprintf(stderr, "exoctl: %s\n", err);
		goto out;
	}
	exoctl_req_wipe(r);
	for (;;) {
		/* Records pass as sent to ndjson and compact json: one check, no tree. */
		int raw = k != NULL && k->out != NULL && k->q == NULL && output_takes_raw(k->out);
		struct conn_answer a;
		yajl_val v;
		const char *type;

		/* flush only before waiting, so output streams without a write per record */
		if ((rc = exoctl_wait(x, c, prog)) != EXOCTL_EXIT_OK)
			goto out;
		if (conn_read_answer(c, raw, &a, err, sizeof(err)) < 0) {
			exoctl_stderr_begin(prog);
			fprintf(stderr, "exoctl: %s\n", err);
			rc = EXOCTL_EXIT_UNREACHABLE;
			goto out;
		}
		/* Only asked for (raw) with a sink, so k is there; said again for the analyzer. */
		if (a.tree == NULL && k != NULL) {
			if (exoctl_record(x, NULL, &a, k, &rc) < 0)
				goto out;
			continue;
		}
		v = a.tree;
		type = exoctl_get_str(v, "type", NULL);
		if (strcmp(type, "done") == 0) {
			*done = v;
			rc = EXOCTL_EXIT_OK;
			goto out;
		}
		if (strcmp(type, "error") == 0) {
			exoctl_stderr_begin(prog);
			rc = exoctl_print_error(v);
			if (k != NULL && k->why != NULL)
				snprintf(k->why, k->whylen, "%s",
					 exoctl_get_str(v, "error", "message") != NULL ?
					 exoctl_get_str(v, "error", "message") : "");
			yajl_tree_free(v);
			goto out;
		}
		if (exoctl_event(x, v, type, k, &rc) < 0) {
			yajl_tree_free(v);
			goto out;
		}
		yajl_tree_free(v);
	}
out:
	progress_clear(prog);
	exoctl_req_wipe(r);
	conn_close(c);
	return rc;
}

/* exoctl_converse on a new connection to exod. */
static int exoctl_exchange_to(const struct exoctl *x, struct exoctl_req *r, struct exoctl_sink *k,
			      yajl_val *done)
{
	char err[EXOCTL_ERR_LEN];
	struct conn *c = conn_open(x->socket, err, sizeof(err));

	if (c != NULL)
		return exoctl_converse(x, c, r, k, done);
	*done = NULL;
	fprintf(stderr, "exoctl: %s\n", err);
	exoctl_req_wipe(r);
	return EXOCTL_EXIT_UNREACHABLE;
}

/* An exchange whose answer is one done line (or an error). */
static int exoctl_exchange(const struct exoctl *x, struct exoctl_req *r, yajl_val *done)
{
	return exoctl_exchange_to(x, r, NULL, done);
}

/* Runs a request whose done line carries nothing to print. */
static int exoctl_simple(const struct exoctl *x, struct exoctl_req *r, const char *said)
{
	yajl_val done;
	int rc;

	if (exoctl_req_end(r) < 0) {
		exoctl_req_wipe(r);
		return EXOCTL_EXIT_USAGE;
	}
	rc = exoctl_exchange(x, r, &done);
	if (rc == EXOCTL_EXIT_OK && !x->quiet && said != NULL)
		printf("%s\n", said);
	yajl_tree_free(done);
	return rc;
}

/* Ends the output (and --slurp's query); frees the sink.  Returns the exit status. */
static int exoctl_finish(struct exoctl_sink *k, int rc)
{
	char err[EXOCTL_ERR_LEN];
	int qrc = QUERY_OK;

	progress_free(k->prog);
	if (rc == EXOCTL_EXIT_OK && k->q != NULL)
		qrc = query_finish(k->q, k->out, err, sizeof(err));
	if (qrc == QUERY_FAILED) {
		fprintf(stderr, "exoctl: %s\n", err);
		rc = EXOCTL_EXIT_USAGE;
	} else if (qrc == QUERY_OUTPUT_FAILED) {
		rc = exoctl_output_failed(err);
	}
	/* after an error, close what was started so stdout stays well-formed */
	if ((rc == EXOCTL_EXIT_OK || output_count(k->out) > 0) &&
	    output_finish(k->out, err, sizeof(err)) < 0) {
		int orc = exoctl_output_failed(err);

		if (rc == EXOCTL_EXIT_OK)
			rc = orc;
	}
	output_free(k->out);
	query_free(k->q);
	return rc;
}

/* The renderer as the options and the terminal say; columns fix a table's. */
static struct output *exoctl_output_new(const struct exoctl *x, const char *const *columns)
{
	struct output_options o = {
		.fmt = x->fmt,
		.width = x->width,
		.pretty = x->tty,
		.select = (const char *const *)x->select,
		.columns = x->fmt == OUTPUT_TABLE || x->fmt == OUTPUT_AUTO ? columns : NULL,
	};

	return output_new(stdout, &o);
}

/* The request line of a run: parameters bound on the catalogue, then the cmdlet's name. */
static int exoctl_run_request(const struct exoctl *x, struct exoctl_req *r, int argc, char **argv)
{
	char err[BINDER_ERR_LEN];
	const char *cmdlet;

	if (exoctl_req_begin(r, x, "run", 1) < 0)
		return EXOCTL_EXIT_FAILED;
	if (x->progress) {
		exoctl_req_check(r, yajl_gen_string(r->g, (const unsigned char *)"progress", 8));
		exoctl_req_check(r, yajl_gen_bool(r->g, 1));
	}
	/* The cmdlet's name goes after its parameters: binding gives its catalogue spelling. */
	exoctl_req_check(r, yajl_gen_string(r->g, (const unsigned char *)"params", 6));
	if (params_bind(r->g, argv[1], argc - 2, argv + 2, &cmdlet, err, sizeof(err)) < 0) {
		exoctl_req_wipe(r);
		fprintf(stderr, "exoctl: %s\n", err);
		if (catalogue_find(argv[1], strlen(argv[1])) != NULL)
			fprintf(stderr, "Try 'exoctl help %s'.\n", argv[1]);
		else
			fputs("Try 'exoctl cmdlets' or 'exoctl --help'.\n", stderr);
		return EXOCTL_EXIT_USAGE;
	}
	exoctl_req_str(r, "cmdlet", cmdlet);
	if (exoctl_req_end(r) < 0) {
		exoctl_req_wipe(r);
		return EXOCTL_EXIT_USAGE;
	}
	return EXOCTL_EXIT_OK;
}

static int exoctl_run(const struct exoctl *x, int argc, char **argv)
{
	struct exoctl_req *r = &exoctl_request;
	struct exoctl_sink k = { 0 };
	char err[EXOCTL_ERR_LEN];
	yajl_val done;
	int rc;

	if (argc < 2)
		return exoctl_usage_error("run: which cmdlet? (exoctl run Get-Mailbox; exoctl cmdlets "
					  "lists them)");
	if (!wire_cmdlet_valid(argv[1]))
		return exoctl_usage_error("run: a cmdlet is Verb-Noun, letters, digits and '-'");
	/* a query that does not compile is said before anything is sent */
	if (x->query != NULL && (k.q = query_new(x->query, x->slurp, err, sizeof(err))) == NULL) {
		fprintf(stderr, "exoctl: %s\n", err);
		return EXOCTL_EXIT_USAGE;
	}
	if ((rc = exoctl_run_request(x, r, argc, argv)) != EXOCTL_EXIT_OK) {
		query_free(k.q);
		return rc;
	}
	if ((k.out = exoctl_output_new(x, NULL)) == NULL ||
	    (x->progress && (k.prog = progress_new(stderr, argv[1], x->progress_width)) == NULL)) {
		exoctl_req_wipe(r);
		fprintf(stderr, "exoctl: out of memory\n");
		return exoctl_finish(&k, EXOCTL_EXIT_FAILED);
	}
	rc = exoctl_exchange_to(x, r, &k, &done);
	yajl_tree_free(done);
	return exoctl_finish(&k, rc);
}

static int exoctl_no_args(int argc, char **argv)
{
	if (argc > 1) {
		char msg[EXOCTL_ERR_LEN];

		snprintf(msg, sizeof(msg), "%s: unexpected argument '%.64s'", argv[0], argv[1]);
		return exoctl_usage_error(msg);
	}
	return 0;
}

static int exoctl_status(const struct exoctl *x, int argc, char **argv)
{
	struct exoctl_req *r = &exoctl_request;
	static const char *path[] = { "profiles", NULL };
	char err[EXOCTL_ERR_LEN];
	struct exoctl_sink k = { 0 };
	yajl_val done, profiles;
	int rc;

	if ((rc = exoctl_no_args(argc, argv)) != 0)
		return rc;
	if (exoctl_req_begin(r, x, "status", 1) < 0 || exoctl_req_end(r) < 0) {
		exoctl_req_wipe(r);
		return EXOCTL_EXIT_FAILED;
	}
	if ((rc = exoctl_exchange(x, r, &done)) != EXOCTL_EXIT_OK)
		return rc;
	k.out = exoctl_output_new(x, exoctl_status_columns);
	profiles = yajl_tree_get(done, path, yajl_t_array);
	if (k.out == NULL) {
		yajl_tree_free(done);
		fprintf(stderr, "exoctl: out of memory\n");
		return EXOCTL_EXIT_FAILED;
	}
	for (size_t i = 0; profiles != NULL && i < profiles->u.array.len; i++) {
		if (output_record(k.out, profiles->u.array.values[i], err, sizeof(err)) < 0) {
			rc = exoctl_output_failed(err);
			break;
		}
	}
	yajl_tree_free(done);
	return exoctl_finish(&k, rc);
}

static int exoctl_ping(const struct exoctl *x, int argc, char **argv)
{
	struct exoctl_req *r = &exoctl_request;
	int rc;

	if ((rc = exoctl_no_args(argc, argv)) != 0)
		return rc;
	if (exoctl_req_begin(r, x, "ping", 0) < 0)
		return EXOCTL_EXIT_FAILED;
	return exoctl_simple(x, r, "pong");
}

static int exoctl_logout(const struct exoctl *x, int argc, char **argv)
{
	struct exoctl_req *r = &exoctl_request;
	yajl_val done;
	int rc;

	if ((rc = exoctl_no_args(argc, argv)) != 0)
		return rc;
	if (exoctl_req_begin(r, x, "logout", 1) < 0)
		return EXOCTL_EXIT_FAILED;
	if (exoctl_req_end(r) < 0) {
		exoctl_req_wipe(r);
		return EXOCTL_EXIT_USAGE;
	}
	if ((rc = exoctl_exchange(x, r, &done)) != EXOCTL_EXIT_OK)
		return rc;
	/* exod says what logging out did: app-only profiles sign in again by themselves */
	if (!x->quiet) {
		const char *msg = exoctl_get_str(done, "message", NULL);

		output_put_text(stdout, msg != NULL ? msg : "signed out");
		putchar('\n');
	}
	yajl_tree_free(done);
	return EXOCTL_EXIT_OK;
}

static int exoctl_refresh(const struct exoctl *x, int argc, char **argv)
{
	struct exoctl_req *r = &exoctl_request;
	int rc;

	if ((rc = exoctl_no_args(argc, argv)) != 0)
		return rc;
	if (exoctl_req_begin(r, x, "refresh", 1) < 0)
		return EXOCTL_EXIT_FAILED;
	return exoctl_simple(x, r, "token refreshed");
}

static void exoctl_print_json(yajl_val v, int pretty)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	size_t len;

	if (g == NULL)
		return;
	yajl_gen_config(g, yajl_gen_beautify, pretty);
	if (output_gen_tree(g, v) == 0 && yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok) {
		fwrite(buf, 1, len, stdout);
		if (len == 0 || buf[len - 1] != '\n')
			putchar('\n');
	}
	yajl_gen_free(g);
}

static int exoctl_metrics(const struct exoctl *x, int argc, char **argv)
{
	struct exoctl_req *r = &exoctl_request;
	int prometheus = 0, rc;
	yajl_val done;
	const char *text;
	static const char *path[] = { "metrics", NULL };

	if (argc == 2 && strcmp(argv[1], "--prometheus") == 0)
		prometheus = 1;
	else if ((rc = exoctl_no_args(argc, argv)) != 0)
		return rc;
	if (exoctl_req_begin(r, x, "metrics", 0) < 0)
		return EXOCTL_EXIT_FAILED;
	if (prometheus)
		exoctl_req_str(r, "format", "prometheus");
	if (exoctl_req_end(r) < 0) {
		exoctl_req_wipe(r);
		return EXOCTL_EXIT_FAILED;
	}
	if ((rc = exoctl_exchange(x, r, &done)) != EXOCTL_EXIT_OK)
		return rc;
	text = exoctl_get_str(done, "text", NULL);
	if (prometheus && text != NULL)
		fputs(text, stdout);
	else
		exoctl_print_json(yajl_tree_get(done, path, yajl_t_any), x->tty);
	yajl_tree_free(done);
	if (fflush(stdout) != 0)
		return exoctl_output_failed("cannot write output");
	return EXOCTL_EXIT_OK;
}

static volatile sig_atomic_t exoctl_caught;

static void exoctl_catch(int sig)
{
	exoctl_caught = sig;
}

static void exoctl_tty_say(int fd, const char *s)
{
	ssize_t n = write(fd, s, strlen(s));

	(void)n;        /* a prompt that could not be shown does not stop the read */
}

/* Reads one line from fd with echo off; a signal restores the terminal, then acts. */
static int exoctl_tty_read(int fd, char *pw, size_t cap)
{
	struct sigaction sa = { .sa_handler = exoctl_catch }, old[3];
	static const int sigs[3] = { SIGINT, SIGTERM, SIGQUIT };
	struct termios saved, quiet;
	size_t n = 0;
	int rc = -1;
	char ch = 0;

	if (tcgetattr(fd, &saved) < 0)
		return -1;
	sigemptyset(&sa.sa_mask);       /* no SA_RESTART: a signal ends the read */
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	quiet.c_lflag |= ICANON;
	/* Echo off before the prompt: what is typed the moment it shows is not echoed. */
	if (tcsetattr(fd, TCSANOW, &quiet) == 0) {
		exoctl_tty_say(fd, "Password: ");
		while (read(fd, &ch, 1) == 1 && ch != '\n' && n + 1 < cap)
			pw[n++] = ch;
		rc = ch == '\n' ? 0 : -1;
		tcsetattr(fd, TCSAFLUSH, &saved);
	}
	pw[n] = '\0';
	sbuf_wipe(&ch, sizeof(ch));
	exoctl_tty_say(fd, "\n");
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (exoctl_caught != 0)
		raise(exoctl_caught);
	if (rc == 0 && n > 0 && pw[n - 1] == '\r')
		pw[--n] = '\0';
	return rc == 0 && n > 0 ? 0 : -1;
}

static int exoctl_read_password(char *pw, size_t cap)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int rc;

	if (fd < 0) {
		fprintf(stderr, "exoctl: login --password reads the password from a terminal: "
			"/dev/tty: %s\n", strerror(errno));
		return -1;
	}
	rc = exoctl_tty_read(fd, pw, cap);
	close(fd);
	if (rc < 0)
		fprintf(stderr, "exoctl: no password read (empty, too long or interrupted)\n");
	return rc;
}

/* A number for a login option, lo..hi; -1 (said) when it is not one. */
static int exoctl_login_number(const char *opt, const char *val, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = val != NULL ? strtol(val, &end, 10) : 0;
	if (val == NULL || errno != 0 || end == val || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "exoctl: login: %s takes a number from %ld to %ld\n", opt, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

/* --timeout S, --port P (or --name=value), --no-open; 1 taken (*i moved on), 0 not one, -1 said. */
static int exoctl_login_browser_opt(int argc, char **argv, int *i, struct exoctl_login_opts *o)
{
	const char *w = argv[*i], *eq = strchr(w, '=');
	size_t n = eq != NULL ? (size_t)(eq - w) : strlen(w);
	const char *val = eq != NULL ? eq + 1 : *i + 1 < argc ? argv[*i + 1] : NULL;
	long v;

	if (strcmp(w, "--no-open") == 0) {
		o->b.no_open = 1;
	} else if (n == 9 && strncmp(w, "--timeout", n) == 0) {
		if (exoctl_login_number("--timeout", val, 1, BROWSER_MAX_TIMEOUT_S, &v) < 0)
			return -1;
		o->b.timeout_s = v;
		*i += eq == NULL;
	} else if (n == 6 && strncmp(w, "--port", n) == 0) {
		if (exoctl_login_number("--port", val, 1, 65535, &v) < 0)
			return -1;
		o->b.port = (int)v;
		*i += eq == NULL;
	} else {
		return 0;
	}
	o->browser_opts = 1;
	return 1;
}

static int exoctl_login_options(int argc, char **argv, struct exoctl_login_opts *o)
{
	static const char *const methods[] = { "--device", "--password", "--browser" };
	char msg[EXOCTL_ERR_LEN];

	memset(o, 0, sizeof(*o));
	o->b.timeout_s = BROWSER_TIMEOUT_S;
	for (int i = 1; i < argc; i++) {
		size_t m = 0;
		int rc = exoctl_login_browser_opt(argc, argv, &i, o);

		if (rc < 0)
			return EXOCTL_EXIT_USAGE;
		if (rc > 0)
			continue;
		while (m < 3 && strcmp(argv[i], methods[m]) != 0)
			m++;
		if (m == 3 || o->method != NULL) {
			snprintf(msg, sizeof(msg), "login: unexpected '%.64s' (one of --device, "
				 "--password or --browser; --timeout, --port and --no-open go with "
				 "the browser)", argv[i]);
			return exoctl_usage_error(msg);
		}
		o->method = methods[m] + 2;
	}
	if (o->browser_opts && o->method != NULL && strcmp(o->method, "browser") != 0)
		return exoctl_usage_error("login: --timeout, --port and --no-open go with the browser");
	/* They only mean something for the browser, so they ask for it. */
	if (o->browser_opts)
		o->method = "browser";
	return 0;
}

static void exoctl_print_signed_in(const struct exoctl *x, yajl_val done, char *who, size_t len)
{
	const char *identity = exoctl_get_str(done, "identity", NULL);

	if (who != NULL)
		snprintf(who, len, "%s", identity != NULL ? identity : "");
	if (x->quiet)
		return;
	fputs("signed in", stdout);
	if (identity != NULL) {
		fputs(" as ", stdout);
		output_put_text(stdout, identity);
	}
	putchar('\n');
	fflush(stdout);
}

/* The browser's part is done: exod redeems the code with the verifier (browser_redeem_fn). */
static int exoctl_redeem(void *arg, const struct sbuf *code, const struct sbuf *verifier,
			 const char *redirect_uri, char *who, size_t wholen, char *why,
			 size_t whylen)
{
	const struct exoctl *x = arg;
	struct exoctl_req *r = &exoctl_request;
	struct exoctl_sink k = { .why = why, .whylen = whylen };
	yajl_val done;
	int rc;

	if (exoctl_req_begin(r, x, "login", 1) < 0)
		return EXOCTL_EXIT_FAILED;
	exoctl_req_str(r, "method", "browser");
	exoctl_req_str(r, "code", sbuf_str(code));
	exoctl_req_str(r, "code_verifier", sbuf_str(verifier));
	exoctl_req_str(r, "redirect_uri", redirect_uri);
	if (exoctl_req_end(r) < 0) {
		exoctl_req_wipe(r);
		return EXOCTL_EXIT_FAILED;
	}
	if ((rc = exoctl_exchange_to(x, r, &k, &done)) != EXOCTL_EXIT_OK)
		return rc;
	exoctl_print_signed_in(x, done, who, wholen);
	yajl_tree_free(done);
	return EXOCTL_EXIT_OK;
}

static int exoctl_login(const struct exoctl *x, int argc, char **argv)
{
	struct exoctl_req *r = &exoctl_request;
	static char pw[EXOCTL_MAX_PASSWORD];
	struct exoctl_login_opts o;
	const char *url;
	yajl_val done;
	int rc;

	if ((rc = exoctl_login_options(argc, argv, &o)) != 0)
		return rc;
	if (o.method != NULL && strcmp(o.method, "password") == 0 &&
	    exoctl_read_password(pw, sizeof(pw)) < 0) {
		sbuf_wipe(pw, sizeof(pw));
		return EXOCTL_EXIT_USAGE;
	}
	if (exoctl_req_begin(r, x, "login", 1) == 0) {
		if (o.method != NULL)
			exoctl_req_str(r, "method", o.method);
		if (pw[0] != '\0')
			exoctl_req_str(r, "password", pw);
	}
	sbuf_wipe(pw, sizeof(pw));
	if (r->g == NULL || exoctl_req_end(r) < 0) {
		exoctl_req_wipe(r);
		return EXOCTL_EXIT_FAILED;
	}
	if ((rc = exoctl_exchange(x, r, &done)) != EXOCTL_EXIT_OK)
		return rc;
	/* A browser sign-in (asked for, or the profile's own): exod named where it begins. */
	if ((url = exoctl_get_str(done, "authorize_url", NULL)) != NULL)
		rc = browser_sign_in(url, &o.b, exoctl_redeem, (void *)x);
	else
		exoctl_print_signed_in(x, done, NULL, 0);
	yajl_tree_free(done);
	return rc;
}

/*
 * The catalogue services of a profile: exod's status says which service
 * it speaks to.  Exchange Online's (with EOP's) when no profile is named
 * or exod does not say; say: tell stderr so (not for completion).
 */
static unsigned exoctl_services(const struct exoctl *x, const char *profile, int say)
{
	struct exoctl_req *r = &exoctl_request;
	static const char *path[] = { "profiles", NULL };
	unsigned services = CATALOGUE_EXO | CATALOGUE_EOP;
	struct exoctl here = *x;
	yajl_val done, profiles;
	const char *service = NULL;

	if (profile == NULL)
		return services;
	here.profile = profile;
	if (exoctl_req_begin(r, &here, "status", 1) < 0 || exoctl_req_end(r) < 0) {
		exoctl_req_wipe(r);
		return services;
	}
	if (exoctl_exchange(&here, r, &done) == EXOCTL_EXIT_OK) {
		profiles = yajl_tree_get(done, path, yajl_t_array);
		if (profiles != NULL && profiles->u.array.len == 1)
			service = exoctl_get_str(profiles->u.array.values[0], "service", NULL);
		if (service != NULL && strcmp(service, "compliance") == 0)
			services = CATALOGUE_SCC;
		yajl_tree_free(done);
	}
	if (service == NULL && say && !x->quiet)
		fprintf(stderr, "exoctl: exod did not say what profile %.64s speaks to; "
			"showing Exchange Online's cmdlets\n", profile);
	return services;
}

static int exoctl_cmdlets(const struct exoctl *x, int argc, char **argv)
{
	char err[EXOCTL_ERR_LEN];

	if (argc > 2)
		return exoctl_usage_error("cmdlets: at most one pattern (exoctl cmdlets 'Get-*Mailbox*')");
	if (discover_cmdlets(stdout, argc == 2 ? argv[1] : NULL, exoctl_services(x, x->profile, 1),
			     err, sizeof(err)) < 0) {
		fprintf(stderr, "exoctl: %s\n", err);
		return EXOCTL_EXIT_FAILED;
	}
	return fflush(stdout) != 0 ? exoctl_output_failed("cannot write output") : EXOCTL_EXIT_OK;
}

static int exoctl_cmdlet_help(const struct exoctl *x, const char *cmdlet)
{
	char err[EXOCTL_ERR_LEN];

	/* A cmdlet exoctl does not know needs no question to exod. */
	unsigned services = catalogue_find(cmdlet, strlen(cmdlet)) != NULL && x->profile != NULL
				    ? exoctl_services(x, x->profile, 1) : 0;

	if (discover_help(stdout, cmdlet, x->tty ? exoctl_width() : 0, services, err,
			  sizeof(err)) < 0) {
		fprintf(stderr, "exoctl: %s\n", err);
		fputs("Try 'exoctl cmdlets PATTERN'.\n", stderr);
		return EXOCTL_EXIT_USAGE;
	}
	return fflush(stdout) != 0 ? exoctl_output_failed("cannot write output") : EXOCTL_EXIT_OK;
}

/* exoctl help [COMMAND | CMDLET] */
static int exoctl_help(const struct exoctl *x, int argc, char **argv)
{
	const struct exoctl_cmd *cmd;

	if (argc > 2)
		return exoctl_usage_error("help: one command or cmdlet (exoctl help Get-Mailbox)");
	if (argc == 1)
		exoctl_usage(stdout);
	else if ((cmd = exoctl_find_cmd(argv[1])) != NULL && cmd->summary != NULL)
		exoctl_cmd_usage(stdout, cmd);
	else
		return exoctl_cmdlet_help(x, argv[1]);
	return fflush(stdout) != 0 ? exoctl_output_failed("cannot write output") : EXOCTL_EXIT_OK;
}

/* --name N: a number of seconds for check's thresholds. */
static int exoctl_check_seconds(const char *opt, const char *val, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(val, &end, 10);
	if (errno != 0 || end == val || *end != '\0' || v < 0 || v > 86400) {
		fprintf(stderr, "exoctl: check: %s takes seconds, 0 to 86400\n", opt);
		return -1;
	}
	*out = v;
	return 0;
}

static int exoctl_check_options(int argc, char **argv, struct check_limits *l)
{
	for (int i = 1; i < argc; i++) {
		long *field = strcmp(argv[i], "--token-warning") == 0 ? &l->token_warning :
			      strcmp(argv[i], "--token-critical") == 0 ? &l->token_critical : NULL;

		if (field == NULL || i + 1 >= argc) {
			fprintf(stderr, "exoctl: check: unexpected '%.64s' (--token-warning SECONDS, "
				"--token-critical SECONDS)\n", argv[i]);
			return -1;
		}
		if (exoctl_check_seconds(argv[i], argv[i + 1], field) < 0)
			return -1;
		i++;
	}
	return 0;
}

/* exoctl check: a Nagios/Icinga plugin; its exit status is the plugin's, 0 to 3. */
static int exoctl_check(const struct exoctl *x, int argc, char **argv)
{
	struct check_limits l = { CHECK_TOKEN_WARNING, CHECK_TOKEN_CRITICAL };
	struct exoctl_req *r = &exoctl_request;
	static const char *path[] = { "profiles", NULL };
	char err[EXOCTL_ERR_LEN];
	yajl_val done;
	struct conn *c;
	int rc;

	if (exoctl_check_options(argc, argv, &l) < 0)
		return CHECK_UNKNOWN;
	/* exod not answering is the service being down, not the plugin failing */
	if ((c = conn_open(x->socket, err, sizeof(err))) == NULL) {
		check_fail(stdout, CHECK_CRITICAL, err);
		return CHECK_CRITICAL;
	}
	if (exoctl_req_begin(r, x, "status", 1) < 0 || exoctl_req_end(r) < 0) {
		exoctl_req_wipe(r);
		conn_close(c);
		check_fail(stdout, CHECK_UNKNOWN, "cannot encode the request");
		return CHECK_UNKNOWN;
	}
	if ((rc = exoctl_converse(x, c, r, NULL, &done)) != EXOCTL_EXIT_OK) {
		check_fail(stdout, rc == EXOCTL_EXIT_UNREACHABLE ? CHECK_CRITICAL : CHECK_UNKNOWN,
			   "exod refused the status request (see stderr)");
		return rc == EXOCTL_EXIT_UNREACHABLE ? CHECK_CRITICAL : CHECK_UNKNOWN;
	}
	rc = (int)check_report(stdout, yajl_tree_get(done, path, yajl_t_array), &l);
	yajl_tree_free(done);
	return fflush(stdout) != 0 ? CHECK_UNKNOWN : rc;
}

/* The profiles exod shows this user, for completing -p; nothing when exod does not answer. */
static void exoctl_complete_profiles(void *arg, FILE *fp, const char *prefix)
{
	const struct exoctl *x = arg;
	struct exoctl_req *r = &exoctl_request;
	static const char *path[] = { "profiles", NULL };
	yajl_val done, profiles;

	if (exoctl_req_begin(r, x, "status", 0) < 0 || exoctl_req_end(r) < 0) {
		exoctl_req_wipe(r);
		return;
	}
	if (exoctl_exchange(x, r, &done) != EXOCTL_EXIT_OK)
		return;
	profiles = yajl_tree_get(done, path, yajl_t_array);
	for (size_t i = 0; profiles != NULL && i < profiles->u.array.len; i++) {
		const char *name = exoctl_get_str(profiles->u.array.values[i], "name", NULL);

		if (name != NULL && name[0] != '\0' && strncmp(name, prefix, strlen(prefix)) == 0)
			fprintf(fp, "%s\n", name);
	}
	yajl_tree_free(done);
}

/* Completion's cmdlets: those of the line's profile, or exoctl's own; all when none is named. */
static unsigned exoctl_complete_services(void *arg, const char *profile)
{
	const struct exoctl *x = arg;

	if (profile == NULL)
		profile = x->profile;
	return profile != NULL ? exoctl_services(x, profile, 0) : 0;
}

/* exoctl __complete WORD...: what the completion scripts ask; not for people. */
static int exoctl_complete(const struct exoctl *x, int argc, char **argv)
{
	struct exoctl here = *x;
	struct discover_hooks h = { exoctl_complete_profiles, exoctl_complete_services, &here };

	/* A socket named on the line being completed is the one to ask for profiles. */
	for (int i = 1; i + 2 < argc; i++)
		if (strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "--socket") == 0)
			here.socket = argv[i + 1];
	discover_complete(stdout, argc - 1, argv + 1, &h);
	return EXOCTL_EXIT_OK;
}

static int exoctl_shell(const struct exoctl *x, int argc, char **argv);

static const struct exoctl_cmd exoctl_cmds[] = {
	{ "run", exoctl_run, "CMDLET [POSITIONAL] [-Name value] [-Switch] [--params JSON]",
	  "Run a cmdlet on the profile's warm session",
	  "Parameters are written as in PowerShell and bound on the cmdlet catalogue:\n"
	  "  positional values, unambiguous prefixes (-Ident), -Switch, -Switch:$false,\n"
	  "  -Name a,b,c for lists, @{Key=Value} for hashtables; --params '{...}' adds JSON.\n"
	  "  exoctl run CMDLET --help shows the cmdlet's parameters.\n" },
	{ "status", exoctl_status, "", "Show the profiles this user may use", NULL },
	{ "ping", exoctl_ping, "", "Check that exod answers", NULL },
	{ "check", exoctl_check, "[--token-warning S] [--token-critical S]",
	  "A Nagios/Icinga plugin line for the profile(s)",
	  "Exits 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, with performance data. WARNING: the token\n"
	  "  has less than --token-warning seconds left (default 300), the service throttles, or a\n"
	  "  sign-in failed but a token is still good; CRITICAL: exod is unreachable, a profile\n"
	  "  needs a sign-in or cannot sign in, or the token has less than --token-critical (60).\n" },
	{ "login", exoctl_login, "[--device|--password|--browser [--timeout S] [--port P] [--no-open]]",
	  "Sign a delegated profile in",
	  "  --device      device code (the default of auth = device): open the page shown and\n"
	  "                enter the code\n"
	  "  --browser     a browser (the default of auth = interactive): exoctl prints the\n"
	  "                sign-in address, opens it with xdg-open on a desktop, and takes the\n"
	  "                answer on http://localhost:PORT; over SSH it says how to forward it\n"
	  "  --timeout S   how long to wait for the browser's answer (default 300 seconds)\n"
	  "  --port P      listen on this port rather than a free one (for ssh -L set up first)\n"
	  "  --no-open     only print the address; never run xdg-open\n"
	  "  --password    a password profile: the password is read from the terminal\n" },
	{ "logout", exoctl_logout, "", "Forget the profile's sign-in or token", NULL },
	{ "refresh", exoctl_refresh, "", "Fetch a new access token now", NULL },
	{ "metrics", exoctl_metrics, "[--prometheus]", "Show exod's counters",
	  "  --prometheus   the Prometheus text format instead of JSON\n" },
	{ "cmdlets", exoctl_cmdlets, "[PATTERN]", "List the cmdlets, or those matching a glob",
	  NULL },
	{ "help", exoctl_help, "[COMMAND|CMDLET]", "Help for exoctl, a command or a cmdlet", NULL },
	{ "shell", exoctl_shell, "", "A prompt that runs cmdlets on the warm session",
	  "Lines are commands without 'exoctl': a cmdlet with its parameters (Get-Mailbox alice),\n"
	  "  or one of exoctl's commands (status, help Get-Mailbox); exoctl's long options work\n"
	  "  on every line.  TAB completes, history is kept in $XDG_STATE_HOME/exoctl/history,\n"
	  "  Ctrl-C stops a running command, exit or Ctrl-D ends the shell.\n" },
	{ "__complete", exoctl_complete, "WORD...", NULL, NULL },
};

static const size_t exoctl_ncmds = sizeof(exoctl_cmds) / sizeof(exoctl_cmds[0]);

static const struct exoctl_cmd *exoctl_find_cmd(const char *name)
{
	for (size_t i = 0; i < exoctl_ncmds; i++)
		if (strcmp(name, exoctl_cmds[i].name) == 0)
			return &exoctl_cmds[i];
	return NULL;
}

static void exoctl_usage(FILE *fp)
{
	fputs("usage: exoctl [OPTIONS] COMMAND [ARGS]\n\ncommands:\n", fp);
	for (size_t i = 0; i < exoctl_ncmds; i++)
		if (exoctl_cmds[i].summary != NULL)
			fprintf(fp, "  %-9s %s\n", exoctl_cmds[i].name, exoctl_cmds[i].summary);
	fputs("exoctl COMMAND --help says more; exoctl help CMDLET shows a cmdlet's parameters.\n\n",
	      fp);
	fputs(exoctl_options_help, fp);
}

static void exoctl_cmd_usage(FILE *fp, const struct exoctl_cmd *cmd)
{
	fprintf(fp, "usage: exoctl [OPTIONS] %s %s\n%s.\n", cmd->name, cmd->usage, cmd->summary);
	if (cmd->details != NULL)
		fprintf(fp, "\n%s", cmd->details);
	fputs("\nexoctl --help lists exoctl's options, valid with every command.\n", fp);
}

static int exoctl_dispatch(const struct args *a);

/* The shell's run, in a child of its own: one line's words, parsed and run as a command line. */
static int exoctl_shell_run(void *arg, int argc, char **argv)
{
	const struct exoctl *x = arg;
	struct args line = *x->args;
	char err[EXOCTL_ERR_LEN];
	int rc;

	/* the line's own options on top of the shell's; the shell's strings stay the shell's */
	line.argv = NULL;
	line.config_path = NULL;
	memset(line.store, 0, sizeof(line.store));
	if (x->profile != NULL)
		line.profile = x->profile;
	if (args_parse_command(&line, argc, argv, err, sizeof(err)) < 0)
		rc = exoctl_usage_error(err);
	else if (line.argc > 0 && strcmp(line.argv[0], "shell") == 0)
		rc = exoctl_usage_error("already in the shell");
	else
		rc = exoctl_dispatch(&line);
	args_free(&line);
	return rc;
}

static void exoctl_shell_complete(void *arg, FILE *out, int n, char *const words[])
{
	struct discover_hooks h = { exoctl_complete_profiles, exoctl_complete_services, arg };

	discover_complete(out, n, words, &h);
}

/* exoctl shell */
static int exoctl_shell(const struct exoctl *x, int argc, char **argv)
{
	struct shell_options o = { .run = exoctl_shell_run, .complete = exoctl_shell_complete,
				   .arg = (void *)x, .profile = x->profile };
	int rc;

	if ((rc = exoctl_no_args(argc, argv)) != 0)
		return rc;
	return shell_main(&o);
}

static int exoctl_width(void)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (cols != NULL && atoi(cols) > 0 && atoi(cols) <= EXOCTL_MAX_COLUMNS)
		return atoi(cols);
	return isatty(STDOUT_FILENO) ? EXOCTL_TTY_WIDTH : 0;
}

static int exoctl_tty_width(int fd)
{
	struct winsize ws;

	return ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : EXOCTL_TTY_WIDTH;
}

/* The settings of one command from its parsed options; -1 to go on, else the exit status. */
static int exoctl_setup(struct exoctl *x, const struct args *a)
{
	char err[EXOCTL_ERR_LEN];

	memset(x, 0, sizeof(*x));
	x->args = a;
	x->socket = a->socket != NULL ? a->socket : EXOCTL_DEFAULT_SOCKET;
	x->profile = a->profile;
	x->quiet = a->quiet;
	x->tty = isatty(STDOUT_FILENO);
	x->query = a->query;
	x->slurp = a->slurp;
	x->fmt = x->tty ? OUTPUT_AUTO : OUTPUT_JSON;
	if (a->output != NULL && output_parse_format(a->output, &x->fmt) < 0) {
		snprintf(err, sizeof(err), "unknown output format '%.64s' (table, list, json, "
			 "ndjson, csv, tsv or yaml)", a->output);
		return exoctl_usage_error(err);
	}
	if (a->select != NULL && output_parse_select(a->select, &x->select, err, sizeof(err)) < 0)
		return exoctl_usage_error(err);
	if (x->fmt == OUTPUT_TABLE || x->fmt == OUTPUT_LIST || x->fmt == OUTPUT_AUTO)
		x->width = exoctl_width();
	/* the live line is for a person watching stderr, never for a log or a pipe */
	x->progress = !a->quiet && !a->no_progress && isatty(STDERR_FILENO);
	x->progress_width = x->progress ? exoctl_tty_width(STDERR_FILENO) : 0;
	return -1;
}

/* Help for what --help was given with: exoctl, a command, or run's cmdlet. */
static int exoctl_help_for(const struct exoctl *x, const struct args *a)
{
	const struct exoctl_cmd *cmd = a->argc > 0 ? exoctl_find_cmd(a->argv[0]) : NULL;

	if (cmd != NULL && strcmp(cmd->name, "run") == 0 && a->argc > 1)
		return exoctl_cmdlet_help(x, a->argv[1]);
	if (cmd != NULL && cmd->summary != NULL)
		exoctl_cmd_usage(stdout, cmd);
	else
		exoctl_usage(stdout);
	return fflush(stdout) != 0 ? exoctl_output_failed("cannot write output") : EXOCTL_EXIT_OK;
}

static int exoctl_command(const struct exoctl *x, const struct args *a);

/* Runs one parsed command line. */
static int exoctl_dispatch(const struct args *a)
{
	struct exoctl x;
	int rc;

	if (a->version) {
		printf("exoctl %s\n", EXOD_VERSION);
		return EXOCTL_EXIT_OK;
	}
	if ((rc = exoctl_setup(&x, a)) >= 0)
		return rc;
	if (a->help)
		rc = exoctl_help_for(&x, a);
	else
		rc = exoctl_command(&x, a);
	output_select_free(x.select);
	return rc;
}

static int exoctl_command(const struct exoctl *x, const struct args *a)
{
	const struct exoctl_cmd *cmd;

	if (a->argc == 0) {
		exoctl_usage(stderr);
		return EXOCTL_EXIT_USAGE;
	}
	if ((cmd = exoctl_find_cmd(a->argv[0])) == NULL) {
		fprintf(stderr, "exoctl: unknown command '%.64s'\n", a->argv[0]);
		if (a->argv[0][0] != '\0' && strchr(a->argv[0], '-') != NULL &&
		    wire_cmdlet_valid(a->argv[0]))
			fprintf(stderr, "To run a cmdlet: exoctl run %.64s\n", a->argv[0]);
		fputs("Try 'exoctl --help'.\n", stderr);
		return EXOCTL_EXIT_USAGE;
	}
	return cmd->run(x, a->argc, a->argv);
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	char err[EXOCTL_ERR_LEN];
	int rc;

	/* a closed stdout shows up as EPIPE and ends exoctl quietly */
	signal(SIGPIPE, SIG_IGN);
	if (args_parse(&a, argc, argv, err, sizeof(err)) < 0)
		rc = exoctl_usage_error(err);
	else
		rc = exoctl_dispatch(&a);
	args_free(&a);
	return rc;
}
