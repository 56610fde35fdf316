/* test_config.c — configuration loading, environment overrides, strictness
 * and the production guardrails. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/util.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/sf-test-cfg-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_ini(const char *text)
{
	static char path[128];
	snprintf(path, sizeof path, "%s/storefort.ini", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_defaults_and_paths(void **state)
{
	(void)state;
	struct sf_config c;
	char err[512];
	const char *p = write_ini("[app]\nenvironment = staging\n[server]\nhttps_port = 9443\n");
	assert_int_equal(sf_config_load(p, &c, err, sizeof err), SF_OK);
	assert_int_equal(c.environment, SF_ENV_STAGING);
	assert_int_equal(c.https_port, 9443);
	assert_int_equal(c.http_port, 8080);
	assert_int_equal(c.log_access_flush_ms, 1000);
	char want[256];
	snprintf(want, sizeof want, "%s/db/storefort.db", dir);
	assert_string_equal(c.db_path, want);
	snprintf(want, sizeof want, "%s/keys/master.key", dir);
	assert_string_equal(c.master_key_file, want);
	p = write_ini("[keys]\nmaster_key_file = /etc/storefort/master.key\n");
	assert_int_equal(sf_config_load(p, &c, err, sizeof err), SF_OK);
	assert_string_equal(c.master_key_file, "/etc/storefort/master.key");
	/* An optional path: empty stays empty, a relative one is resolved too. */
	assert_string_equal(c.mail_ca_file, "");
	p = write_ini("[mail]\nca_file = tls/relay-ca.pem\n");
	assert_int_equal(sf_config_load(p, &c, err, sizeof err), SF_OK);
	snprintf(want, sizeof want, "%s/tls/relay-ca.pem", dir);
	assert_string_equal(c.mail_ca_file, want);
	/* Every file a secret or a rule is read from: relative to data_dir,
	 * absolute kept, empty left empty. */
	p = write_ini("[waf]\nrules_extra = waf/local.conf\n[mail]\npassword_file = secrets/smtp\n"
		      "[payments]\nsandbox_secret_file = secrets/sandbox\nstripe_secret_key_file = /run/sk\n");
	assert_int_equal(sf_config_load(p, &c, err, sizeof err), SF_OK);
	snprintf(want, sizeof want, "%s/waf/local.conf", dir);
	assert_string_equal(c.waf_rules_extra, want);
	snprintf(want, sizeof want, "%s/secrets/smtp", dir);
	assert_string_equal(c.mail_password_file, want);
	snprintf(want, sizeof want, "%s/secrets/sandbox", dir);
	assert_string_equal(c.pay_sandbox_secret_file, want);
	assert_string_equal(c.pay_stripe_secret_key_file, "/run/sk");
	assert_string_equal(c.pay_stripe_webhook_secret_file, "");
	/* One that fits the field but not once data_dir is put before it is
	 * refused at load, not cut short or dropped later (through the
	 * environment: an INI line is shorter). */
	char name[SF_CFG_PATH_MAX];
	memset(name, 'x', sizeof name - 1);
	name[sizeof name - 1 - strlen(dir)] = '\0';
	setenv("STOREFORT_PAYMENTS_STRIPE_WEBHOOK_SECRET_FILE", name, 1);
	p = write_ini("[app]\n");
	assert_int_equal(sf_config_load(p, &c, err, sizeof err), SF_ERR_CONFIG);
	unsetenv("STOREFORT_PAYMENTS_STRIPE_WEBHOOK_SECRET_FILE");
	if (!strstr(err, "[payments] stripe_webhook_secret_file: path is too long"))
		fail_msg("error: %s", err);
}

static void expect_error(const char *text, const char *needle)
{
	struct sf_config c;
	char err[512] = "";
	const char *p = write_ini(text);
	assert_int_equal(sf_config_load(p, &c, err, sizeof err), SF_ERR_CONFIG);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not name '%s'", err, needle);
}

static void test_strictness(void **state)
{
	(void)state;
	expect_error("[server]\nhttps_prot = 1\n", "unknown key 'https_prot' in [server]");
	expect_error("[nosuch]\na = 1\n", "unknown section [nosuch]");
	expect_error("[server]\nhttps_port = 70000\n", "[server] https_port");
	expect_error("[server]\nhttps_port = 12abc\n", "not an integer");
	expect_error("[server]\nhttps_port = -1\n", "[server] https_port");
	expect_error("[server]\ntls = maybe\n", "not on/off");
	expect_error("[app]\nenvironment = prod\n", "not development, staging or production");
	expect_error("[log]\nlevel = loud\n", "not one of debug|info|warn|error");
	expect_error("[log]\naccess_flush_ms = 10001\n", "[log] access_flush_ms");
	expect_error("[log]\naccess_flush_ms = -1\n", "[log] access_flush_ms");
	expect_error("[log]\naccess_flush_ms = 1s\n", "not an integer");
	expect_error("[server]\nhttps_port = 8080\nhttp_port = 8080\n", "must differ");
	expect_error("this is not ini\n", "line 1");
	expect_error("[database]\nbackend = postgres\n", "conninfo");
	expect_error("[server]\npublic_host = evil.com/x\n", "public_host");
	char big[4096];
	memset(big, 'a', sizeof big);
	memcpy(big, "[app]\nshop_name = ", 18);
	big[sizeof big - 2] = '\n';
	big[sizeof big - 1] = '\0';
	expect_error(big, "too long");
	/* A line inih would split in two is refused, not cut (here the first
	 * 197 characters were a valid value). */
	memset(big, ' ', 300);
	memcpy(big, "[app]\nshop_name = x", 19);
	memcpy(big + 290, "Z\n", 3);
	expect_error(big, "line 2 is too long (at most 197 characters)");
	/* A key given twice, or continued on an indented line: the last one
	 * would win unseen. */
	expect_error("[database]\npath = a.db\n[server]\nbind = ::1\n[database]\npath = b.db\n",
		     "line 6: [database] path is already set on line 2");
	expect_error("[app]\nshop_name = Shop\n  Evil\n", "line 3: [app] shop_name is already set on line 2");
	/* A section may be opened again for other keys. */
	struct sf_config c0;
	char e0[512];
	assert_int_equal(sf_config_load(write_ini("[app]\nshop_name = A\n[log]\nlevel = warn\n[app]\n"
						  "environment = staging\n"),
					&c0, e0, sizeof e0),
			 SF_OK);
	/* NUL bytes (a value would end early) and directories. */
	const char *p = write_ini("[app]\nshop_name = ");
	FILE *f = fopen(p, "a");
	assert_non_null(f);
	fwrite("Shop\0junk\n", 1, 10, f);
	fclose(f);
	assert_int_equal(sf_config_load(p, &c0, e0, sizeof e0), SF_ERR_CONFIG);
	assert_non_null(strstr(e0, "line 2: NUL byte"));
	assert_int_equal(sf_config_load(dir, &c0, e0, sizeof e0), SF_ERR_CONFIG);
	assert_non_null(strstr(e0, "is a directory, not a configuration file"));
	struct sf_config c;
	char err[512];
	assert_int_equal(sf_config_load("/nonexistent/storefort.ini", &c, err, sizeof err), SF_ERR_CONFIG);
	assert_non_null(strstr(err, "cannot open"));
}

static void test_env_overrides(void **state)
{
	(void)state;
	struct sf_config c;
	char err[512];
	const char *p = write_ini("[server]\nhttps_port = 9443\n");
	setenv("STOREFORT_SERVER_HTTPS_PORT", "10443", 1);
	setenv("STOREFORT_LOG_LEVEL", "debug", 1);
	assert_int_equal(sf_config_load(p, &c, err, sizeof err), SF_OK);
	assert_int_equal(c.https_port, 10443);
	assert_string_equal(c.log_level, "debug");
	assert_int_equal(sf_config_log_level(&c), 0);
	setenv("STOREFORT_SERVER_HTTPS_PORT", "x", 1);
	assert_int_equal(sf_config_load(p, &c, err, sizeof err), SF_ERR_CONFIG);
	assert_non_null(strstr(err, "STOREFORT_SERVER_HTTPS_PORT"));
	unsetenv("STOREFORT_SERVER_HTTPS_PORT");
	setenv("STOREFORT_SERVER_HTTPS_PROT", "1", 1);
	assert_int_equal(sf_config_load(p, &c, err, sizeof err), SF_ERR_CONFIG);
	assert_non_null(strstr(err, "unknown variable STOREFORT_SERVER_HTTPS_PROT"));
	unsetenv("STOREFORT_SERVER_HTTPS_PROT");
	unsetenv("STOREFORT_LOG_LEVEL");
}

static void make_key(const char *path, unsigned mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("storefort-master-key v1\n", f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void expect_guard(const struct sf_config *c, const struct sf_guard_facts *f, const char *needle)
{
	char why[4096], warn[4096];
	enum sf_err e = sf_config_guard(c, f, why, sizeof why, warn, sizeof warn);
	if (!needle) {
		assert_int_equal(e, SF_OK);
		return;
	}
	assert_int_equal(e, SF_ERR_CONFIG_UNSAFE);
	if (!strstr(why, needle))
		fail_msg("guard said '%s', expected it to name '%s'", why, needle);
}

static void test_guardrails(void **state)
{
	(void)state;
	struct sf_config c;
	char err[512], p[256];
	snprintf(p, sizeof p, "%s/keys", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/db", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/keys/master.key", dir);
	make_key(p, 0600);
	const char *ini = write_ini("[app]\nenvironment = production\n");
	assert_int_equal(sf_config_load(ini, &c, err, sizeof err), SF_OK);
	struct sf_guard_facts ok = {0}, dev = {.dev_key = 1}, demo = {.demo_data = 1};
	/* The default payment provider (sandbox) approves without money. */
	expect_guard(&c, &ok, "[payments] provider = sandbox");
	ini = write_ini("[app]\nenvironment = production\n[payments]\nprovider = stripe\n");
	assert_int_equal(sf_config_load(ini, &c, err, sizeof err), SF_OK);
	expect_guard(&c, &ok, NULL);
	expect_guard(&c, &dev, "development key");
	expect_guard(&c, &demo, "demo data");
	chmod(p, 0640);
	expect_guard(&c, &ok, "readable by group or others");
	chmod(p, 0600);

	/* The key inside the database's folder. */
	char inside[256];
	snprintf(inside, sizeof inside, "%s/db/master.key", dir);
	make_key(inside, 0600);
	ini = write_ini("[app]\nenvironment = production\n[keys]\nmaster_key_file = db/master.key\n");
	assert_int_equal(sf_config_load(ini, &c, err, sizeof err), SF_OK);
	expect_guard(&c, &ok, "inside the database folder");

	/* TLS off without a trusted TLS-terminating proxy. */
	ini = write_ini("[app]\nenvironment = production\n[server]\ntls = off\n");
	assert_int_equal(sf_config_load(ini, &c, err, sizeof err), SF_OK);
	expect_guard(&c, &ok, "[server] tls is off");
	ini = write_ini("[app]\nenvironment = production\n[server]\ntls = off\n[proxy]\ntrusted = 10.0.0.1\n"
			"tls_terminated = on\n[payments]\nprovider = stripe\n");
	assert_int_equal(sf_config_load(ini, &c, err, sizeof err), SF_OK);
	expect_guard(&c, &ok, NULL);

	/* Missing key file. */
	ini = write_ini("[app]\nenvironment = production\n[keys]\nmaster_key_file = nope.key\n");
	assert_int_equal(sf_config_load(ini, &c, err, sizeof err), SF_OK);
	expect_guard(&c, &ok, "master_key_file");

	/* Development: the same facts only warn. */
	ini = write_ini("[app]\nenvironment = development\n");
	assert_int_equal(sf_config_load(ini, &c, err, sizeof err), SF_OK);
	char why[4096], warn[4096];
	assert_int_equal(sf_config_guard(&c, &dev, why, sizeof why, warn, sizeof warn), SF_OK);
	assert_non_null(strstr(warn, "development key"));
}

static void test_write_initial(void **state)
{
	(void)state;
	char p[256];
	snprintf(p, sizeof p, "%s/init.ini", dir);
	assert_int_equal(sf_config_write_initial(p, SF_ENV_PRODUCTION, "/etc/sf/master.key"), SF_OK);
	struct sf_config c;
	char err[512];
	assert_int_equal(sf_config_load(p, &c, err, sizeof err), SF_OK);
	assert_int_equal(c.environment, SF_ENV_PRODUCTION);
	assert_string_equal(c.master_key_file, "/etc/sf/master.key");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 077, 040);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults_and_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strictness, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_overrides, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guardrails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_initial, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
