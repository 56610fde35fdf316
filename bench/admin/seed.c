/*
 * seed.c — bulk seeding for the back-office benchmark (bench/admin/bench.py):
 *   sf_bench_seed CONFIG CUSTOMERS ORDERS
 * writes CUSTOMERS customer accounts and ORDERS orders into the database of
 * CONFIG, through the same prepared statements, sealing and blind indexes
 * the domain uses (customers: e-mail blind index, sealed e-mail, name,
 * phone and birth date; orders: sealed e-mail and address, one line each,
 * statuses spread over the life cycle, creation times over the last year).
 * One argon2id hash is computed once and shared by every seeded account —
 * the only shortcut (a real sign-up costs ~15 ms of argon2 each).  Rows go
 * in transactions of 2,000; progress on stderr.  Exit 0, or 1 with a cause.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/password.h"
#include "core/config.h"
#include "core/util.h"
#include "crypto/keyring.h"
#include "db/db.h"
#include "shop/customer.h"

#define BATCH 2000

struct seed {
	struct sf_db *db;
	struct sf_keyring *kr;
	char pw_hash[SF_PW_HASH_MAX];
	int64_t from, count, now;
	int64_t ncustomers;
	enum sf_err err;
};

static enum sf_db_status sealed_param(struct seed *s, const char *table, const char *col, int64_t id,
				      const char *v, unsigned char **blob, size_t *n)
{
	s->err = sf_seal(s->kr, table, col, id, v, strlen(v), blob, n);
	return s->err ? SF_DB_HARD : SF_DB_OK;
}

static enum sf_db_status customers_txn(struct sf_db_conn *c, void *ctx)
{
	struct seed *s = ctx;
	for (int64_t i = s->from; i < s->from + s->count; i++) {
		char email[64], name[64], phone[32], birth[16];
		unsigned char idx[SF_BLIND_INDEX_LEN];
		snprintf(email, sizeof email, "customer%" PRId64 "@bench.example", i);
		snprintf(name, sizeof name, "Customer %" PRId64, i);
		snprintf(phone, sizeof phone, "+33 1 %02d %02d %02d %02d", (int)(i % 97), (int)(i % 89), (int)(i % 83),
			 (int)(i % 79));
		snprintf(birth, sizeof birth, "19%02d-%02d-%02d", (int)(50 + i % 50), (int)(1 + i % 12), (int)(1 + i % 28));
		s->err = sf_blind_index(s->kr, "customer-email", email, strlen(email), idx);
		if (s->err)
			return SF_DB_HARD;
		int64_t created = s->now - (int64_t)(i % 365) * 86400 - 3600;
		struct sf_db_param p[] = {SF_DB_BLOB(idx, sizeof idx), SF_DB_TEXT(s->pw_hash), SF_DB_INT(created)};
		enum sf_db_status st = sf_db_exec(c, SF_STMT_CUST_INSERT, p, 3, NULL);
		if (st != SF_DB_OK)
			return st;
		int64_t id = sf_db_last_id(c);
		unsigned char *b[4] = {0};
		size_t n[4] = {0};
		const char *vals[4] = {email, name, phone, birth};
		static const char *const cols[4] = {"email", "name", "phone", "birth_date"};
		for (int k = 0; k < 4 && st == SF_DB_OK; k++)
			st = sealed_param(s, "customers", cols[k], id, vals[k], &b[k], &n[k]);
		if (st == SF_DB_OK) {
			struct sf_db_param q[] = {SF_DB_INT(id), SF_DB_BLOB(b[0], n[0]), SF_DB_BLOB(b[1], n[1]),
						  SF_DB_BLOB(b[2], n[2]), SF_DB_BLOB(b[3], n[3]), SF_DB_INT(created)};
			st = sf_db_exec(c, SF_STMT_CUST_SET_SEALED, q, 6, NULL);
		}
		for (int k = 0; k < 4; k++)
			free(b[k]);
		if (st != SF_DB_OK)
			return st;
	}
	return SF_DB_OK;
}

static const char *const statuses[] = {"paid", "fulfilled", "shipped", "delivered", "delivered", "delivered",
				       "cancelled", "pending_payment"};

static enum sf_db_status orders_txn(struct sf_db_conn *c, void *ctx)
{
	struct seed *s = ctx;
	for (int64_t i = s->from; i < s->from + s->count; i++) {
		int64_t cust = i % 3 ? 1 + i % s->ncustomers : 0; /* a third are guests */
		int64_t created = s->now - (i * 31536000 / 100000) % 31536000 - 60;
		int64_t qty = 1 + i % 3, unit = 990 + (i % 40) * 250, goods = qty * unit, ship = goods >= 5000 ? 0 : 490;
		int64_t total = goods + ship, tax = total - total * 10000 / 12000;
		unsigned char key[32], body[32];
		char sku[32];
		sf_rand_bytes(key, sizeof key);
		memset(body, (int)(i & 0xff), sizeof body);
		snprintf(sku, sizeof sku, "BENCH-%02d", (int)(i % 40));
		struct sf_db_param p[] = {
			cust ? SF_DB_INT(cust) : SF_DB_NULL, cust ? SF_DB_NULL : SF_DB_BLOB(key, 32), SF_DB_TEXT("EUR"),
			SF_DB_INT(1), SF_DB_INT(goods), SF_DB_INT(0), SF_DB_INT(ship), SF_DB_INT(tax), SF_DB_INT(total),
			SF_DB_NULL, SF_DB_TEXT("standard"), SF_DB_TEXT("Standard delivery (3-5 days)"),
			SF_DB_TEXT(cust ? "customer" : "guest"), SF_DB_BLOB(key, 32), SF_DB_BLOB(body, 32),
			SF_DB_INT(created + 1800), SF_DB_INT(created),
		};
		enum sf_db_status st = sf_db_exec(c, SF_STMT_ORDER_INSERT, p, 17, NULL);
		if (st != SF_DB_OK)
			return st;
		int64_t id = sf_db_last_id(c);
		char email[64], addr[256];
		snprintf(email, sizeof email, "customer%" PRId64 "@bench.example", cust ? cust : 900000 + i);
		snprintf(addr, sizeof addr,
			 "{\"name\":\"Customer %" PRId64 "\",\"street\":\"%" PRId64 " Rue de la Paix\",\"city\":\"Paris\","
			 "\"postcode\":\"75002\",\"country\":\"FR\"}",
			 cust, 1 + i % 200);
		unsigned char *b[2] = {0};
		size_t n[2] = {0};
		st = sealed_param(s, "orders", "email", id, email, &b[0], &n[0]);
		if (st == SF_DB_OK)
			st = sealed_param(s, "orders", "address", id, addr, &b[1], &n[1]);
		if (st == SF_DB_OK) {
			struct sf_db_param q[] = {SF_DB_INT(id), SF_DB_BLOB(b[0], n[0]), SF_DB_BLOB(b[1], n[1])};
			st = sf_db_exec(c, SF_STMT_ORDER_SET_SEALED, q, 3, NULL);
		}
		free(b[0]);
		free(b[1]);
		if (st != SF_DB_OK)
			return st;
		struct sf_db_param l[] = {SF_DB_INT(id), SF_DB_INT(1), SF_DB_INT(1 + i % 40), SF_DB_TEXT(sku),
					  SF_DB_TEXT("Bench item"), SF_DB_INT(qty), SF_DB_INT(unit), SF_DB_TEXT("standard"),
					  SF_DB_INT(2000), SF_DB_INT(goods), SF_DB_INT(0), SF_DB_INT(tax)};
		st = sf_db_exec(c, SF_STMT_ORDER_LINE_INSERT, l, 12, NULL);
		const char *to = statuses[i % 8];
		if (st == SF_DB_OK && strcmp(to, "pending_payment") && strcmp(to, "cancelled")) {
			char ref[32];
			snprintf(ref, sizeof ref, "bench-%" PRId64, id);
			struct sf_db_param pp[] = {SF_DB_INT(id), SF_DB_TEXT("bench"), SF_DB_TEXT(ref), SF_DB_INT(total),
						   SF_DB_INT(created)};
			st = sf_db_exec(c, SF_STMT_ORDER_SET_PAID, pp, 5, NULL);
			const char *from = "paid";
			static const char *const chain[] = {"fulfilled", "shipped", "delivered"};
			for (int k = 0; st == SF_DB_OK && k < 3 && strcmp(from, to); k++) {
				struct sf_db_param sp[] = {SF_DB_INT(id), SF_DB_TEXT(from), SF_DB_TEXT(chain[k]),
							   SF_DB_INT(created)};
				st = sf_db_exec(c, SF_STMT_ORDER_SET_STATUS, sp, 4, NULL);
				from = chain[k];
			}
		} else if (st == SF_DB_OK && !strcmp(to, "cancelled")) {
			struct sf_db_param sp[] = {SF_DB_INT(id), SF_DB_TEXT("pending_payment"), SF_DB_TEXT("cancelled"),
						   SF_DB_INT(created)};
			st = sf_db_exec(c, SF_STMT_ORDER_SET_STATUS, sp, 4, NULL);
		}
		if (st != SF_DB_OK)
			return st;
	}
	return SF_DB_OK;
}

static int run(struct seed *s, sf_db_txn_fn fn, int64_t total, const char *what)
{
	for (int64_t done = 0; done < total; done += BATCH) {
		s->from = done + 1;
		s->count = total - done < BATCH ? total - done : BATCH;
		enum sf_db_status st = sf_db_txn(s->db, fn, s, 5);
		if (st < 0) {
			fprintf(stderr, "sf_bench_seed: %s: %s\n", what, s->err ? sf_err_desc(s->err) : "database error");
			return 1;
		}
		fprintf(stderr, "\r%s: %" PRId64 " / %" PRId64, what, done + s->count, total);
	}
	fprintf(stderr, "\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct sf_config cfg;
	struct seed s = {0};
	char err[512];
	int64_t ncust, norders;
	if (argc != 4 || sf_parse_i64(argv[2], 1, 10000000, &ncust) || sf_parse_i64(argv[3], 0, 100000000, &norders)) {
		fprintf(stderr, "usage: sf_bench_seed CONFIG CUSTOMERS ORDERS\n");
		return 2;
	}
	if (sf_config_load(argv[1], &cfg, err, sizeof err)) {
		fprintf(stderr, "sf_bench_seed: %s\n", err);
		return 1;
	}
	struct sf_db_options o = {.backend = SF_DB_SQLITE, .path = cfg.db_path};
	struct sf_pw_params pp;
	sf_password_params_default(&pp);
	if (sf_db_open(&o, &s.db, err, sizeof err) || sf_keyring_open(cfg.master_key_file, &s.kr, err, sizeof err) ||
	    sf_keystore_load(s.db, s.kr, err, sizeof err) || sf_password_hash(&pp, "Bench-Password-0001", s.pw_hash)) {
		fprintf(stderr, "sf_bench_seed: %s\n", err);
		return 1;
	}
	s.now = (int64_t)time(NULL);
	s.ncustomers = ncust;
	int rc = run(&s, customers_txn, ncust, "customers");
	if (!rc)
		rc = run(&s, orders_txn, norders, "orders");
	sf_keyring_free(s.kr);
	sf_db_close(s.db);
	return rc;
}
