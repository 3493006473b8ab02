/*
 * pgvector_names.cpp: pgvector's setting names as aliases (see the header).
 * The checks and messages are those of PostgreSQL's SET for a setting of
 * that type and range (guc.c), so that a bad value reads as it would with
 * pgvector.
 */
#include "index/pgvector_names.h"

extern "C" {
#include "lib/stringinfo.h"
}

namespace vecdb::index {

namespace {

/* name's value if it is a placeholder that is set: nullptr if pgvector's
 * library defines it here, or nobody set it (RESET leaves it empty). */
const char *
placeholder_value(const char *name)
{
	const char *value = GetConfigOption(name, true, false);
	if (value == nullptr || value[0] == '\0')
		return nullptr;
	if ((GetConfigOptionFlags(name, true) & GUC_CUSTOM_PLACEHOLDER) == 0)
		return nullptr;
	return value;
}

void
invalid_value(const char *name, const char *value, const char *hint)
{
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					errmsg("invalid value for parameter \"%s\": \"%s\"", name, value),
					hint ? errhint("%s", hint) : 0));
}

} // namespace

int
pgvector_int(const char *name, int own, int min, int max)
{
	const char *value = placeholder_value(name);
	if (value == nullptr)
		return own;
	int result;
	const char *hint = nullptr;
	if (!parse_int(value, &result, 0, &hint))
		invalid_value(name, value, hint);
	if (result < min || result > max)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("%d is outside the valid range for parameter \"%s\" (%d .. %d)",
							   result, name, min, max)));
	return result;
}

double
pgvector_real(const char *name, double own, double min, double max)
{
	const char *value = placeholder_value(name);
	if (value == nullptr)
		return own;
	double result;
	const char *hint = nullptr;
	if (!parse_real(value, &result, 0, &hint))
		invalid_value(name, value, hint);
	if (result < min || result > max)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("%g is outside the valid range for parameter \"%s\" (%g .. %g)",
							   result, name, min, max)));
	return result;
}

int
pgvector_enum(const char *name, int own, const struct config_enum_entry *options)
{
	const char *value = placeholder_value(name);
	if (value == nullptr)
		return own;
	for (const config_enum_entry *o = options; o->name != nullptr; o++)
		if (pg_strcasecmp(o->name, value) == 0)
			return o->val;
	StringInfoData hint;
	initStringInfo(&hint);
	appendStringInfoString(&hint, "Available values: ");
	bool first = true;
	for (const config_enum_entry *o = options; o->name != nullptr; o++)
	{
		if (o->hidden)
			continue;
		appendStringInfo(&hint, "%s%s", first ? "" : ", ", o->name);
		first = false;
	}
	appendStringInfoChar(&hint, '.');
	invalid_value(name, value, hint.data);
	return own; /* not reached */
}

} // namespace vecdb::index
