/* shop_fixture.c — the temporary catalog environment of shop_fixture.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "crypto/keyring.h"
#include "db/db.h"
#include "sf_test.h"
#include "shop_fixture.h"

int shop_fx_setup(void **state)
{
	char key_path[160];
	struct shop_fx *f = calloc(1, sizeof *f);
	if (!f || sf_test_mkdtemp(f->dir, sizeof f->dir, "shop") != 0)
		return -1;
	snprintf(f->media, sizeof f->media, "%s/media", f->dir);
	f->db = sf_test_db_open(f->dir, "shop.db");
	sf_test_path(key_path, sizeof key_path, f->dir, "master.key");
	if (sf_master_key_create(key_path, 1) != SF_OK)
		return -1;
	f->kr = sf_test_ring_load(f->db, f->dir, "master.key");
	*state = f;
	return 0;
}

int shop_fx_teardown(void **state)
{
	struct shop_fx *f = *state;
	sf_keyring_free(f->kr);
	sf_db_close(f->db);
	sf_test_rmtree(f->dir);
	free(f);
	return 0;
}

enum sf_err shop_fx_import_n(struct shop_fx *f, const void *data, size_t len, struct sf_catalog_import_result *res)
{
	FILE *in = tmpfile();
	assert_non_null(in);
	assert_int_equal(fwrite(data, 1, len, in), len);
	rewind(in);
	enum sf_err err = sf_catalog_import_csv(f->db, f->kr, in, "test", res);
	fclose(in);
	return err;
}

enum sf_err shop_fx_import(struct shop_fx *f, const char *csv, struct sf_catalog_import_result *res)
{
	return shop_fx_import_n(f, csv, strlen(csv), res);
}

char *shop_fx_export(struct shop_fx *f)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	assert_int_equal(sf_catalog_export_csv(f->db, out), SF_OK);
	fclose(out);
	return text;
}

int64_t shop_fx_audit_count(struct shop_fx *f)
{
	struct sf_audit_report rep;
	memset(&rep, 0, sizeof rep);
	assert_int_equal(sf_audit_verify(f->db, f->kr, &rep, NULL, NULL), SF_OK);
	return rep.verified;
}
