/* fuzz_tmpl.c — the template compiler and renderer on arbitrary template
 * text.  Invariants: no crash; output bounded by the buffer cap; a value
 * holding markup never reaches the output unescaped. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "web/tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_tmpl_src src[2] = {
		{.name = "t", .text = (const char *)data, .len = size},
		{.name = "p", .text = "[{{name}}]{{#items}}{{.}}{{/items}}", .len = 0},
	};
	src[1].len = strlen(src[1].text);
	struct sf_tmpl_set *set = NULL;
	char err[256];
	if (sf_tmpl_load_from(src, 2, &set, err, sizeof err) != SF_OK)
		return 0;
	json_t *ctx = json_pack("{s:s,s:[s,i,b],s:{s:s}}", "name", "<b>x</b>", "items", "<b>", 7, 1, "o",
				"k", "\"'&");
	struct sf_buf out;
	sf_buf_init(&out, 1 << 20);
	/* Every value holds '<'; escaped, none survives.  So when the template
	 * text has no '<' of its own, the output has none either. */
	int own = memchr(data, '<', size) != NULL;
	if (sf_tmpl_render(set, "t", ctx, &out) == SF_OK && out.bf_data && !own && strchr(out.bf_data, '<'))
		abort();
	if (out.bf_len > (1 << 20))
		abort();
	sf_buf_free(&out);
	json_decref(ctx);
	sf_tmpl_free(set);
	return 0;
}
