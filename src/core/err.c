/* err.c — lookups into the error registry declared in err.h. */
#include "core/err.h"

struct sf_err_info {
	enum sf_err err;
	unsigned status;
	const char *code;
	const char *desc;
};

static const struct sf_err_info infos[] = {
#define SF_ERR_INFO(name, value, status, code, desc) {name, status, code, desc},
	SF_ERR_LIST(SF_ERR_INFO)
#undef SF_ERR_INFO
};

static const struct sf_err_info *find(enum sf_err err)
{
	for (unsigned i = 0; i < sizeof infos / sizeof infos[0]; i++)
		if (infos[i].err == err)
			return &infos[i];
	return &infos[2]; /* SF_ERR_INTERNAL */
}

const char *sf_err_code(enum sf_err err) { return find(err)->code; }
const char *sf_err_desc(enum sf_err err) { return find(err)->desc; }
unsigned sf_err_status(enum sf_err err) { return find(err)->status; }
