/* t-json.c - lib/json.c: buffer, string escaping for any bytes, the writer. */
#include "tap.h"

#include <sys/wait.h>
#include <unistd.h>

#include "base/json.h"

/* ado_json_str of n bytes, as a C string the caller frees */
static char *esc(const char *s, size_t n)
{
	struct ado_buf b;

	ado_buf_init(&b);
	ado_json_str(&b, s, n);
	return b.data;
}

#define IS_ESC(in, want, ...) do { char *got_ = esc(in, sizeof(in) - 1); is_str(got_, want, __VA_ARGS__); free(got_); } while (0)

/* exit status of python's json.load over doc */
static int python_json(const char *doc)
{
	const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
	char cmd[256];
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null", py);
	p = popen(cmd, "w");
	if (!p)
		return -1;
	fputs(doc, p);
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_buf(void)
{
	struct ado_buf b;
	char big[1000];

	ado_buf_init(&b);
	ok(b.data && b.data[0] == '\0' && b.len == 0, "a new buffer is an empty string");
	ado_buf_puts(&b, "abc");
	ado_buf_add(&b, "de", 2);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ado_buf_printf(&b, "-%d-%s", 42, big);
	is_int(b.len, 5 + 4 + 999, "printf past the initial capacity grows the buffer");
	ok(strncmp(b.data, "abcde-42-xxx", 12) == 0 && b.data[b.len] == '\0', "content and NUL kept");
	ok(!b.oom, "no allocation failure");
	ado_buf_free(&b);
	ok(b.data == NULL && b.len == 0, "free resets the buffer");
	ado_buf_free(NULL);
	ok(1, "ado_buf_free(NULL) is harmless");
}

static void test_escape(void)
{
	char all[256], *g;
	struct ado_buf b;

	IS_ESC("plain ascii ~", "\"plain ascii ~\"", "plain ASCII unchanged");
	IS_ESC("", "\"\"", "empty string");
	IS_ESC("a\"b\\c/", "\"a\\\"b\\\\c/\"", "quote and backslash escaped, slash not");
	IS_ESC("\n\t\r\b\f", "\"\\n\\t\\r\\b\\f\"", "short escapes for the named controls");
	IS_ESC("\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\"", "other controls as \\u00XX, DEL passes");
	IS_ESC("a\0b", "\"a\\u0000b\"", "an embedded NUL byte is escaped");
	IS_ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xef\xbf\xbf",
	       "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xef\xbf\xbf\"",
	       "valid 2-, 3- and 4-byte UTF-8 (up to U+10FFFF) passes through");
	IS_ESC("\xed\x9f\xbf\xee\x80\x80", "\"\xed\x9f\xbf\xee\x80\x80\"", "U+D7FF and U+E000 around the surrogates pass");
	IS_ESC("\xc0\xaf", "\"\\ufffd\\ufffd\"", "overlong 2-byte '/' -> one U+FFFD per byte");
	IS_ESC("\xc1\xbf", "\"\\ufffd\\ufffd\"", "overlong C1 lead rejected");
	IS_ESC("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"", "overlong 3-byte rejected");
	IS_ESC("\xf0\x80\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "overlong 4-byte rejected");
	IS_ESC("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "surrogate U+D800 rejected");
	IS_ESC("\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\"", "surrogate U+DFFF rejected");
	IS_ESC("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "U+110000 rejected");
	IS_ESC("\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "F5 lead rejected");
	IS_ESC("\xfe\xff", "\"\\ufffd\\ufffd\"", "FE and FF rejected");
	IS_ESC("\x80x", "\"\\ufffdx\"", "a lone continuation byte");
	IS_ESC("x\xe2\x82", "\"x\\ufffd\\ufffd\"", "sequence truncated by the end of input");
	IS_ESC("\xe2\x82" "A", "\"\\ufffd\\ufffdA\"", "sequence cut by an ASCII byte");
	IS_ESC("\xf0\x9f\x98", "\"\\ufffd\\ufffd\\ufffd\"", "truncated 4-byte sequence");
	IS_ESC("\xc3\"", "\"\\ufffd\\\"\"", "a lead byte before a quote: the quote is still escaped");

	ado_buf_init(&b);
	ado_json_cstr(&b, NULL);
	ado_json_cstr(&b, "x");
	is_str(b.data, "null\"x\"", "cstr: NULL is null, a string is quoted");
	ado_buf_free(&b);

	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	g = esc(all, sizeof(all));
	ok(g && python_json(g) == 0, "every byte value 0-255 gives a string python accepts");
	free(g);
}

static void test_writer(void)
{
	struct ado_buf b;
	struct ado_json j;

	for (int pretty = 0; pretty <= 1; pretty++) {
		ado_buf_init(&b);
		ado_json_init(&j, &b, pretty);
		ado_json_obj_begin(&j, NULL);
		ado_json_kstr(&j, "name", "x\"y");
		ado_json_kint(&j, "n", -5);
		ado_json_kuint(&j, "u", UINT64_MAX);
		ado_json_kbool(&j, "ok", 1);
		ado_json_kbool(&j, "no", 0);
		ado_json_knull(&j, "nil");
		ado_json_kstr(&j, "s", NULL);
		ado_json_obj_begin(&j, "empty");
		ado_json_obj_end(&j);
		ado_json_arr_begin(&j, "list");
		ado_json_kint(&j, NULL, 1);
		ado_json_kstr(&j, NULL, "two");
		ado_json_obj_begin(&j, NULL);
		ado_json_knull(&j, "k");
		ado_json_obj_end(&j);
		ado_json_arr_begin(&j, NULL);
		ado_json_arr_end(&j);
		ado_json_arr_end(&j);
		ado_json_obj_end(&j);
		if (!pretty)
			is_str(b.data, "{\"name\":\"x\\\"y\",\"n\":-5,\"u\":18446744073709551615,\"ok\":true,"
			       "\"no\":false,\"nil\":null,\"s\":null,\"empty\":{},\"list\":[1,\"two\",{\"k\":null},[]]}",
			       "compact: commas, nesting, every value kind");
		else
			is_str(b.data, "{\n"
			       "  \"name\": \"x\\\"y\",\n"
			       "  \"n\": -5,\n"
			       "  \"u\": 18446744073709551615,\n"
			       "  \"ok\": true,\n"
			       "  \"no\": false,\n"
			       "  \"nil\": null,\n"
			       "  \"s\": null,\n"
			       "  \"empty\": {},\n"
			       "  \"list\": [\n"
			       "    1,\n"
			       "    \"two\",\n"
			       "    {\n"
			       "      \"k\": null\n"
			       "    },\n"
			       "    []\n"
			       "  ]\n"
			       "}", "pretty: 2-space indent, one member per line, no final newline");
		ok(!b.oom, "%s: no error flag", pretty ? "pretty" : "compact");
		is_int(python_json(b.data), 0, "%s document is valid JSON to python", pretty ? "pretty" : "compact");
		ado_buf_free(&b);
	}

	/* keys are escaped like values */
	ado_buf_init(&b);
	ado_json_init(&j, &b, 0);
	ado_json_obj_begin(&j, NULL);
	ado_json_kstr(&j, "k\n\xff", "v");
	ado_json_obj_end(&j);
	is_str(b.data, "{\"k\\n\\ufffd\":\"v\"}", "keys are escaped too");
	ado_buf_free(&b);

	/* several top-level values: one per line (JSON lines) */
	ado_buf_init(&b);
	ado_json_init(&j, &b, 0);
	ado_json_obj_begin(&j, NULL);
	ado_json_kint(&j, "a", 1);
	ado_json_obj_end(&j);
	ado_json_obj_begin(&j, NULL);
	ado_json_obj_end(&j);
	is_str(b.data, "{\"a\":1}\n{}", "two top-level values go on two lines");
	ado_buf_free(&b);

	/* the writer tracks 16 levels: deeper is flagged, not silently wrong */
	ado_buf_init(&b);
	ado_json_init(&j, &b, 0);
	for (int i = 0; i < 15; i++)
		ado_json_arr_begin(&j, NULL);
	for (int i = 0; i < 15; i++)
		ado_json_arr_end(&j);
	ok(!b.oom && strlen(b.data) == 30, "15 levels of nesting are fine");
	ado_buf_free(&b);
	ado_buf_init(&b);
	ado_json_init(&j, &b, 0);
	for (int i = 0; i < 17; i++)
		ado_json_arr_begin(&j, NULL);
	ok(b.oom, "nesting past the tracked depth sets the error flag");
	ado_buf_free(&b);

	/* an unbalanced end is flagged */
	ado_buf_init(&b);
	ado_json_init(&j, &b, 0);
	ado_json_obj_end(&j);
	ok(b.oom && b.len == 0, "an end without a begin sets the error flag and writes nothing");
	ado_buf_free(&b);

	/* the validity check itself rejects bad JSON */
	ok(python_json("{\"a\":") != 0, "python rejects a truncated document (the check is real)");
}

int main(void)
{
	test_buf();
	test_escape();
	test_writer();
	return done_testing();
}
