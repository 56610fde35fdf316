/*
 * tax.c — the tax on one amount (tax.h).
 */
#include "shop/tax.h"

#include "shop/money.h"

int64_t sf_tax_amount(int64_t amount, int32_t rate_bp, int inclusive)
{
	if (amount <= 0 || rate_bp <= 0)
		return 0;
	if (inclusive)
		return sf_money_div_round(amount * rate_bp, SF_TAX_MAX_BP + (int64_t)rate_bp);
	return sf_money_div_round(amount * rate_bp, SF_TAX_MAX_BP);
}
