/*
 * fuzz_exo_error: the error envelope parser (daemon/exo_codec.c:
 * exo_codec_parse_error), which reads the body of every failed
 * InvokeCommand answer: OData JSON of several shapes, a JSON string inside
 * details[].message, "|Type|" prefixes, or kilobytes of NUL bytes.  The
 * input is one body.  It must never fail: fields are NULL or trimmed,
 * NUL-terminated text within the documented limits.  The same input is
 * also read as one element of @adminapi.errors (exo_codec_cmdlet_error).
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/exo_codec.h"
#include "tests/fuzz/fuzz_util.h"

#define MAX_NAME 256            /* EXO_CODEC_MAX_ERROR_NAME */
#define MAX_TEXT 4096           /* EXO_CODEC_MAX_ERROR_TEXT */

static void check_field(const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return;
	n = strlen(s);
	FUZZ_CHECK(n > 0 && n <= max);
	/* Trimmed at both ends. */
	FUZZ_CHECK(!isspace((unsigned char)s[0]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct exo_error e;
	char *copy;

	/* The body as it arrives: not NUL-terminated (ASan sees any read past the end). */
	copy = malloc(size > 0 ? size : 1);
	FUZZ_SETUP(copy != NULL);
	if (size > 0)
		memcpy(copy, data, size);
	memset(&e, 0x5a, sizeof(e));
	exo_codec_parse_error(copy, size, &e);
	check_field(e.code, MAX_NAME);
	check_field(e.type, MAX_NAME);
	check_field(e.message, MAX_TEXT);
	(void)exo_codec_error_transient(&e);
	exo_error_clear(&e);
	FUZZ_CHECK(e.code == NULL && e.message == NULL && e.type == NULL);
	exo_error_clear(&e);

	memset(&e, 0x5a, sizeof(e));
	exo_codec_cmdlet_error(copy, size, &e);
	check_field(e.code, MAX_NAME);
	check_field(e.type, MAX_NAME);
	check_field(e.message, MAX_TEXT);
	exo_error_clear(&e);
	free(copy);
	return 0;
}
