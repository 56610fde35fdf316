/*
 * policy.h — where and when staff may use the back office: address lists
 * (CIDR, IPv4 and IPv6, parsed by the edge's list code) and access windows
 * (weekdays and time ranges in a time zone).
 *
 * Access windows are text, one or more entries separated by ';':
 *     DAYS HH:MM-HH:MM [ZONE]
 * DAYS is a day ("Mon"), a range ("Mon-Fri", wrapping allowed: "Fri-Mon"),
 * a comma list ("Mon,Wed,Fri") or "Daily"; ZONE is a tz database name
 * ("Asia/Tokyo", "Europe/Berlin"; default "UTC").  "24:00" may end a range.
 * A range whose end is not after its start runs past midnight: the window
 * opens on the named day and closes the next morning ("Fri 22:00-06:00").
 * An empty text means "at any time".  At most SF_POLICY_MAX_WINDOWS entries.
 *
 * Time zones are read from the system tz database (TZif files under
 * /usr/share/zoneinfo) by this file's own reader, never through TZ /
 * localtime_r, so evaluation is thread-safe and needs no global state but a
 * small cache of parsed zones.  The offset in force at an instant comes from
 * the zone's transition table; past its last transition (Debian's files list
 * them up to 2037) the last offset stays in force.
 */
#ifndef SF_AUTH_POLICY_H
#define SF_AUTH_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define SF_POLICY_MAX_WINDOWS 8
#define SF_POLICY_ZONE_MAX 64
#define SF_POLICY_TEXT_MAX 1024 /* bytes of a window text or an address list */

struct sf_cidr_list;

struct sf_window {
	uint8_t days;   /* bit 0 Monday ... bit 6 Sunday: the days the window opens */
	int start_min;  /* minutes after local midnight, 0..1439 */
	int end_min;    /* 1..1440; <= start_min: ends the next day */
	char zone[SF_POLICY_ZONE_MAX];
};

struct sf_windows {
	struct sf_window v[SF_POLICY_MAX_WINDOWS];
	size_t n;
};

/* Parse a window text into *out (also checking that each zone exists).
 * Returns SF_OK, or SF_ERR_BAD_PARAM with *why (static, client-safe) set. */
enum sf_err sf_windows_parse(const char *text, struct sf_windows *out, const char **why) SF_WARN_UNUSED;

/* Is instant now (seconds since the epoch) inside one of the windows?  An
 * empty set allows any time.  A zone that cannot be read denies. */
int sf_windows_allow(const struct sf_windows *w, int64_t now);

/* The UTC offset (seconds east) of zone at instant t.  Returns SF_OK,
 * SF_ERR_BAD_PARAM (not a zone name), SF_ERR_NOT_FOUND (no such zone) or
 * SF_ERR_NOMEM. */
enum sf_err sf_tz_offset(const char *zone, int64_t t, int32_t *offset) SF_WARN_UNUSED;

/* Check an address list text (CIDR blocks and addresses, separated by
 * commas or spaces).  Returns SF_OK or SF_ERR_BAD_PARAM with *why. */
enum sf_err sf_iplist_check(const char *text, const char **why) SF_WARN_UNUSED;

/* Why access is refused, or SF_POLICY_OK. */
enum sf_policy_verdict {
	SF_POLICY_OK = 0,
	SF_POLICY_GLOBAL_IP, /* not on [admin] allow */
	SF_POLICY_DENY_IP,   /* on the account's deny list */
	SF_POLICY_ALLOW_IP,  /* not on the account's (non-empty) allow list */
	SF_POLICY_WINDOW,    /* outside every access window */
};

/* The whole where-and-when decision for one request: global (may be NULL or
 * empty: any address), then the account's deny, allow and window texts
 * (each may be NULL or empty).  A text that does not parse denies. */
enum sf_policy_verdict sf_policy_check(const struct sf_cidr_list *global, const char *allow, const char *deny,
				       const char *windows, const char *ip, int64_t now);

/* A stable name for a verdict ("ip_not_allowed", "outside_window", ...). */
const char *sf_policy_reason(enum sf_policy_verdict v);

#endif
