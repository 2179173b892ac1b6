/*
 * fuzz_exo_body: the InvokeCommand request body (daemon/exo_codec.c:
 * exo_codec_body), built from the "params" object a local client sends in
 * its request line.  Input: an optional first line naming the cmdlet
 * (used when it is at most 200 bytes), then the params JSON, which is
 * parsed with yajl_tree_parse as exod parses a request line (only inputs
 * without NUL bytes and within a request line's size).  A body that is
 * built must be one JSON object of the documented shape, as long as it
 * says.  Also exo_codec_cmdlet_reads on the cmdlet name.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "common/wire.h"
#include "daemon/exo_codec.h"
#include "tests/fuzz/fuzz_util.h"

#define CMDLET_LINE_MAX 200
#define DEFAULT_CMDLET "Set-Mailbox"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path_cmdlet[] = { "CmdletInput", "CmdletName", NULL };
	const char *path_params[] = { "CmdletInput", "Parameters", NULL };
	char *text, *cmdlet = NULL, *json, *out = NULL;
	const uint8_t *nl;
	yajl_val params = NULL, check;
	size_t len = 0;
	int rc;

	/* A request line is at most WIRE_MAX_LINE bytes and holds no NUL (it is a C string to exod). */
	if (size >= WIRE_MAX_LINE || !fuzz_no_nul(data, size))
		return -1;
	text = fuzz_strndup(data, size);
	json = text;
	nl = memchr(data, '\n', size < CMDLET_LINE_MAX ? size : CMDLET_LINE_MAX);
	if (nl != NULL) {
		cmdlet = text;
		cmdlet[nl - data] = '\0';
		json = text + (nl - data) + 1;
	}
	if (json[0] != '\0') {
		params = yajl_tree_parse(json, NULL, 0);
		if (params == NULL) {
			free(text);
			return 0;
		}
	}
	rc = exo_codec_body(cmdlet != NULL ? cmdlet : DEFAULT_CMDLET, params, &out, &len);
	if (rc == 0) {
		FUZZ_CHECK(out != NULL && strlen(out) == len);
		check = yajl_tree_parse(out, NULL, 0);
		FUZZ_CHECK(check != NULL && YAJL_IS_OBJECT(check));
		FUZZ_CHECK(YAJL_IS_STRING(yajl_tree_get(check, path_cmdlet, yajl_t_string)));
		FUZZ_CHECK(YAJL_IS_OBJECT(yajl_tree_get(check, path_params, yajl_t_object)));
		yajl_tree_free(check);
	} else {
		FUZZ_CHECK(out == NULL && len == 0);
	}
	if (cmdlet != NULL)
		(void)exo_codec_cmdlet_reads(cmdlet);
	free(out);
	yajl_tree_free(params);
	free(text);
	return 0;
}
