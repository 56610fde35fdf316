/*
 * demo.c — the demo catalog: 10 categories, 240 products with 1-4 variants
 * each, and one SVG image per product.
 *
 * Everything is generated deterministically (a fixed-seed xorshift, never
 * rand()), so two runs give the same catalog and a second run changes
 * nothing.  Rows are built in memory in the CSV import's row format and go
 * through sf_catalog_import_rows, so demo data is validated and audited
 * exactly like an import (actor "demo"); the same transaction sets meta
 * demo_data=1, which production refuses to start with.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/util.h"
#include "db/db.h"
#include "shop/catalog.h"
#include "shop/catalog_internal.h"

#define PER_GROUP 30

struct demo_cat {
	const char *path;
	const char *description;
};

static const struct demo_cat demo_cats[] = {
	{"Clothing", "Shirts, trousers and shoes for every day."},
	{"Clothing/Shirts", "Oxford, linen and flannel shirts."},
	{"Clothing/Trousers", "Chinos, jeans and cords."},
	{"Clothing/Shoes", "Sneakers, boots and loafers."},
	{"Home", "Things that make a house a home."},
	{"Home/Kitchen", "Cookware and tableware."},
	{"Home/Garden", "Tools and pots for the garden."},
	{"Electronics", "Gadgets and accessories."},
	{"Electronics/Audio", "Headphones and speakers."},
	{"Books", "Novels and non-fiction."},
};

enum vkind { V_SIZE, V_SHOE, V_COLOUR, V_FORMAT, V_NONE };

struct demo_group {
	const char *path;
	const char *adjectives[8];
	const char *nouns[5];
	enum vkind kind;
	int64_t price_lo, price_hi; /* euros */
	const char *material[4];
};

static const struct demo_group groups[] = {
	{"Clothing/Shirts",
	 {"Classic", "Slim", "Relaxed", "Vintage", "Everyday", "Premium", "Organic", "Coastal"},
	 {"Oxford Shirt", "Linen Shirt", "Flannel Shirt", "Polo Shirt", "Henley"},
	 V_SIZE, 25, 89,
	 {"organic cotton", "washed linen", "brushed flannel", "pique cotton"}},
	{"Clothing/Trousers",
	 {"Tapered", "Straight", "Wide", "Cropped", "Stretch", "Heritage", "Workwear", "Travel"},
	 {"Chinos", "Jeans", "Cords", "Joggers", "Cargo Trousers"},
	 V_SIZE, 39, 129,
	 {"cotton twill", "selvedge denim", "corduroy", "recycled polyester"}},
	{"Clothing/Shoes",
	 {"Canvas", "Leather", "Suede", "Trail", "Court", "City", "Weekend", "Alpine"},
	 {"Sneakers", "Boots", "Loafers", "Sandals", "Runners"},
	 V_SHOE, 49, 189,
	 {"full-grain leather", "canvas", "suede", "recycled mesh"}},
	{"Home/Kitchen",
	 {"Enamel", "Cast Iron", "Copper", "Stoneware", "Bamboo", "Nordic", "Rustic", "Chef's"},
	 {"Skillet", "Teapot", "Mixing Bowl", "Chopping Board", "Dutch Oven"},
	 V_COLOUR, 12, 149,
	 {"enamelled steel", "cast iron", "glazed stoneware", "oiled bamboo"}},
	{"Home/Garden",
	 {"Terracotta", "Hanging", "Raised", "Folding", "Weatherproof", "Heirloom", "Compact", "Cedar"},
	 {"Planter", "Watering Can", "Trowel", "Bird Feeder", "Garden Bench"},
	 V_COLOUR, 9, 249,
	 {"terracotta", "galvanised steel", "cedar wood", "recycled plastic"}},
	{"Electronics",
	 {"Compact", "Smart", "Wireless", "Portable", "Solar", "Rugged", "Mini", "Pro"},
	 {"Power Bank", "Desk Lamp", "Charger", "Alarm Clock", "Weather Station"},
	 V_COLOUR, 15, 199,
	 {"aluminium", "recycled plastic", "matte polycarbonate", "brushed steel"}},
	{"Electronics/Audio",
	 {"Studio", "Noise-Cancelling", "Bluetooth", "Open-Back", "Waterproof", "Retro", "Pocket", "Bass"},
	 {"Headphones", "Earbuds", "Speaker", "Soundbar", "Turntable"},
	 V_COLOUR, 29, 399,
	 {"anodised aluminium", "walnut veneer", "soft-touch plastic", "woven fabric"}},
	{"Books",
	 {"Silent", "Northern", "Last", "Hidden", "Golden", "Winter", "Forgotten", "Distant"},
	 {"Harbour", "Orchard", "Lighthouse", "Atlas", "Garden"},
	 V_FORMAT, 9, 39,
	 {"paper", "paper", "paper", "paper"}},
};

static const char *const sizes[] = {"S", "M", "L", "XL"};
static const char *const shoes[] = {"40", "41", "42", "43", "44", "45"};
static const char *const colours[] = {"Black", "White", "Red", "Blue", "Green", "Grey"};
static const char *const formats[] = {"Paperback", "Hardcover", "E-book", "Audiobook"};
static const char *const praise[] = {
	"Built to last and easy to care for.", "A customer favourite for years.",
	"Designed in small batches.", "Thoughtful details throughout.",
	"Made to be used every day.", "Comes with a two-year guarantee.",
};
static const char *const palette[] = {"#1f6feb", "#d73a49", "#2da44e", "#8250df", "#bf8700",
				      "#0a7ea4", "#cf222e", "#57606a", "#953800", "#1a7f37"};

struct xorshift {
	uint64_t s;
};

static uint64_t xs_next(struct xorshift *x)
{
	uint64_t v = x->s;
	v ^= v << 13;
	v ^= v >> 7;
	v ^= v << 17;
	x->s = v;
	return v;
}

static size_t xs_below(struct xorshift *x, size_t n)
{
	return (size_t)(xs_next(x) % n);
}

/* Text with &, <, >, " and ' replaced by XML entities. */
static void xml_escape(struct sf_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': sf_buf_puts(b, "&amp;"); break;
		case '<': sf_buf_puts(b, "&lt;"); break;
		case '>': sf_buf_puts(b, "&gt;"); break;
		case '"': sf_buf_puts(b, "&quot;"); break;
		case '\'': sf_buf_puts(b, "&apos;"); break;
		default: sf_buf_putc(b, *s);
		}
	}
}

/* Up to two capital initials from the first letters of the words of name. */
static void initials(const char *name, char out[3])
{
	size_t n = 0;
	int at_start = 1;
	for (const char *p = name; *p && n < 2; p++) {
		int letter = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z');
		if (letter && at_start)
			out[n++] = (char)(*p & ~0x20);
		at_start = *p == ' ' || *p == '-';
	}
	out[n] = '\0';
}

static enum sf_err write_svg(const char *dir, const char *slug, const char *name, const char *colour)
{
	struct sf_buf b, path;
	char ini[3];
	enum sf_err err;
	sf_buf_init(&b, 8192);
	sf_buf_init(&path, 4096);
	initials(name, ini);
	sf_buf_puts(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"480\" height=\"480\" "
			"viewBox=\"0 0 480 480\" role=\"img\" aria-label=\"");
	xml_escape(&b, name);
	sf_buf_puts(&b, "\"><rect width=\"480\" height=\"480\" fill=\"");
	xml_escape(&b, colour);
	sf_buf_puts(&b, "\"/><text x=\"240\" y=\"295\" font-family=\"sans-serif\" font-size=\"160\" "
			"font-weight=\"bold\" text-anchor=\"middle\" fill=\"#ffffff\">");
	xml_escape(&b, ini);
	sf_buf_puts(&b, "</text></svg>\n");
	sf_buf_printf(&path, "%s/%s.svg", dir, slug);
	err = b.bf_err ? b.bf_err : path.bf_err;
	if (!err)
		err = sf_file_write_atomic(path.bf_data, b.bf_data, b.bf_len, 0644);
	sf_buf_free(&b);
	sf_buf_free(&path);
	return err;
}

static enum sf_db_status demo_extra_fn(struct sf_db_conn *c, void *ctx)
{
	(void)ctx;
	for (size_t i = 0; i < SF_ARRAY_LEN(demo_cats); i++) {
		char slug[128];
		size_t o = 0;
		/* the slug of a path is the slugs of its names joined by '-' */
		const char *p = demo_cats[i].path;
		while (*p) {
			char name[64], part[64];
			const char *slash = strchr(p, '/');
			size_t n = slash ? (size_t)(slash - p) : strlen(p);
			if (n >= sizeof name)
				return SF_DB_HARD;
			memcpy(name, p, n);
			name[n] = '\0';
			size_t pl = sf_catalog_slugify(name, part, sizeof part);
			if (o + pl + 2 > sizeof slug)
				return SF_DB_HARD;
			if (o)
				slug[o++] = '-';
			memcpy(slug + o, part, pl);
			o += pl;
			p = slash ? slash + 1 : p + n;
		}
		slug[o] = '\0';
		struct sf_db_param dp[] = {SF_DB_TEXT(slug), SF_DB_TEXT(demo_cats[i].description)};
		enum sf_db_status st = sf_db_exec(c, SF_STMT_CAT_CATEGORY_SET_DESC, dp, 2, NULL);
		if (st < 0)
			return st;
	}
	struct sf_db_param mp[] = {SF_DB_TEXT("demo_data"), SF_DB_TEXT("1")};
	enum sf_db_status st = sf_db_exec(c, SF_STMT_META_SET, mp, 2, NULL);
	return st < 0 ? st : SF_DB_OK;
}

enum sf_err sf_catalog_seed_demo(struct sf_db *db, const struct sf_keyring *kr, const char *media_dir)
{
	struct sf_arena ar;
	struct sf_csv_row *rows = NULL;
	size_t nrows = 0, cap = SF_ARRAY_LEN(groups) * PER_GROUP * 4;
	struct xorshift x = {0x5f0d7e3a9c41b26dULL};
	struct sf_catalog_import_result res;
	enum sf_err err = SF_OK;
	char *dir = NULL;

	if (!db || !kr || !media_dir || !*media_dir)
		return SF_ERR_INVALID;
	sf_arena_init(&ar, 16 * 1024 * 1024);
	rows = calloc(cap, sizeof *rows);
	dir = sf_arena_printf(&ar, "%s/products", media_dir);
	if (!rows || !dir) {
		err = SF_ERR_NOMEM;
		goto out;
	}
	err = sf_mkdirs(dir, 0755);
	if (err)
		goto out;

	size_t pnum = 0;
	for (size_t g = 0; g < SF_ARRAY_LEN(groups); g++) {
		const struct demo_group *gr = &groups[g];
		/* all 40 adjective x noun pairs, shuffled; the first 30 are used */
		size_t combos[40];
		for (size_t i = 0; i < 40; i++)
			combos[i] = i;
		for (size_t i = 39; i > 0; i--) {
			size_t j = xs_below(&x, i + 1), t = combos[i];
			combos[i] = combos[j];
			combos[j] = t;
		}
		for (size_t k = 0; k < PER_GROUP; k++, pnum++) {
			const char *adj = gr->adjectives[combos[k] / 5];
			const char *noun = gr->nouns[combos[k] % 5];
			char *name = gr->kind == V_FORMAT ? sf_arena_printf(&ar, "The %s %s", adj, noun)
							  : sf_arena_printf(&ar, "%s %s", adj, noun);
			char slugbuf[160];
			if (!name) {
				err = SF_ERR_NOMEM;
				goto out;
			}
			sf_catalog_slugify(name, slugbuf, sizeof slugbuf);
			char *slug = sf_arena_strdup(&ar, slugbuf);
			const char *material = gr->material[xs_below(&x, 4)];
			char *desc = gr->kind == V_FORMAT
					     ? sf_arena_printf(&ar,
							       "%s is a novel about memory, distance and the "
							       "people we leave behind. %s",
							       name, praise[xs_below(&x, SF_ARRAY_LEN(praise))])
					     : sf_arena_printf(&ar, "The %s, made from %s. %s", name, material,
							       praise[xs_below(&x, SF_ARRAY_LEN(praise))]);
			char *image = sf_arena_printf(&ar, "%s.svg", slugbuf);
			if (!slug || !desc || !image) {
				err = SF_ERR_NOMEM;
				goto out;
			}
			err = write_svg(dir, slug, name, palette[pnum % SF_ARRAY_LEN(palette)]);
			if (err)
				goto out;

			size_t nvar = 1 + xs_below(&x, 4);
			int sold_out = xs_below(&x, 12) == 0;
			int64_t range = gr->price_hi - gr->price_lo;
			int64_t base = (gr->price_lo + (int64_t)xs_below(&x, (size_t)range + 1)) * 100 + 99;
			size_t first = xs_below(&x, 6);
			for (size_t v = 0; v < nvar; v++) {
				const char *vname;
				int64_t price = base;
				switch (gr->kind) {
				case V_SIZE:
					vname = sizes[v];
					price += v >= 3 ? 500 : 0; /* XL costs a little more */
					break;
				case V_SHOE:
					vname = shoes[(first + v) % SF_ARRAY_LEN(shoes)];
					break;
				case V_COLOUR:
					vname = colours[(first + v) % SF_ARRAY_LEN(colours)];
					break;
				case V_FORMAT:
					vname = formats[v];
					price = v == 1 ? base + 1000 : v == 2 ? base - 400 : base;
					break;
				case V_NONE:
				default:
					vname = "";
				}
				int64_t stock = sold_out ? 0 : (int64_t)xs_below(&x, 51);
				struct sf_csv_row *r = &rows[nrows];
				r->line = (int64_t)nrows + 2; /* as if written to a file after its header */
				r->f[SF_CSV_SLUG] = slug;
				r->f[SF_CSV_NAME] = name;
				r->f[SF_CSV_CATEGORY] = gr->path;
				r->f[SF_CSV_DESCRIPTION] = desc;
				r->f[SF_CSV_SKU] = sf_arena_printf(&ar, "SF-%04zu-%zu", pnum + 1, v + 1);
				r->f[SF_CSV_VARIANT] = vname;
				r->f[SF_CSV_PRICE] = sf_arena_printf(&ar, "%" PRId64, price);
				r->f[SF_CSV_CURRENCY] = "EUR";
				r->f[SF_CSV_STOCK] = sf_arena_printf(&ar, "%" PRId64, stock);
				r->f[SF_CSV_IMAGE] = image;
				nrows++;
				if (sf_arena_failed(&ar)) {
					err = SF_ERR_NOMEM;
					goto out;
				}
			}
		}
	}
	/* Every demo category path is a group path or a prefix of one, so the
	 * import creates all ten; demo_extra_fn then adds their descriptions. */
	err = sf_catalog_import_rows(db, kr, rows, nrows, "demo", demo_extra_fn, NULL, &res);
out:
	free(rows);
	sf_arena_release(&ar);
	return err;
}
