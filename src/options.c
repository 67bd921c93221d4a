/*-------------------------------------------------------------------------
 *
 * options.c
 *	  The options of a transition, purge or stamp, said once: the table
 *	  below names each SQL argument, the field of BulkTransitionArgs it
 *	  fills, whether it may be NULL, and its column in bulk_status.job_state.
 *
 * Everything else follows from the table: the SQL entry points (CALL
 * transition, purge, stamp, and their submit variants) read their
 * arguments by name, whatever their order and whichever of them an entry
 * point has (bulk_read_options); a job is written to job_state and read
 * back by its worker through the same entries (bulk_job_options_*).  To
 * add an option: a field in BulkTransitionArgs, an entry here, the
 * argument in the SQL signatures (and a job_state column if jobs keep it),
 * and its use.  A library newer than the installed extension (before
 * ALTER EXTENSION UPDATE) leaves job columns that are not there yet alone.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "bulk_status.h"

/* How an option's SQL value becomes its field (and its job column). */
typedef enum BulkOptionKind
{
	OPT_RELATION,				/* regclass: Oid */
	OPT_SOURCE,					/* regclass or NULL: Oid, InvalidOid for NULL */
	OPT_TEXT,					/* text: char *, NULL for NULL */
	OPT_NAME,					/* name: char * */
	OPT_INT,					/* integer: int */
	OPT_BOOL,					/* boolean: bool */
	OPT_STRATEGY,				/* text naming a strategy: BulkStrategy */
	OPT_INTERVAL_MS,			/* positive interval or NULL: int64 ms, 0 for
								 * NULL (its job column is bigint) */
	OPT_ROWS_OR_AUTO			/* bigint, not negative, or NULL: int64, -1
								 * for NULL ("auto") */
} BulkOptionKind;

typedef struct BulkOption
{
	const char *name;			/* the SQL argument's name */
	BulkOptionKind kind;
	size_t		offset;			/* of its field in BulkTransitionArgs */
	bool		nullable;		/* NULL allowed, else "... must not be null" */
	const char *column;			/* its job_state column, or NULL */
} BulkOption;

#define FIELD(f) offsetof(BulkTransitionArgs, f)

/*
 * Every option.  Some fields have two SQL names: purge's "status" is the
 * from_status of the rows it deletes, stamp's "column_name" and "value" are
 * the status column and the value it sets; the job column is given once.
 */
static const BulkOption options[] = {
	{"rel", OPT_RELATION, FIELD(relid), false, "relid"},
	{"from_status", OPT_TEXT, FIELD(from_status), false, "from_status"},
	{"status", OPT_TEXT, FIELD(from_status), false, NULL},
	{"to_status", OPT_TEXT, FIELD(to_status), false, "to_status"},
	{"value", OPT_TEXT, FIELD(to_status), false, NULL},
	{"filter", OPT_TEXT, FIELD(filter), true, "filter"},
	{"status_column", OPT_NAME, FIELD(status_column), false, "status_column"},
	{"column_name", OPT_NAME, FIELD(status_column), false, NULL},
	{"batch_size", OPT_INT, FIELD(batch_size), false, "batch_size"},
	{"strategy", OPT_STRATEGY, FIELD(strategy), false, "strategy"},
	{"sleep_ms", OPT_INT, FIELD(sleep_ms), false, "sleep_ms"},
	{"lock_timeout_ms", OPT_INT, FIELD(lock_timeout_ms), false, "lock_timeout_ms"},
	{"max_retries", OPT_INT, FIELD(max_retries), false, "max_retries"},
	{"skip_locked", OPT_BOOL, FIELD(skip_locked), false, "skip_locked"},
	{"dry_run", OPT_BOOL, FIELD(dry_run), false, NULL},
	{"max_rows_per_sec", OPT_INT, FIELD(max_rows_per_sec), false, "max_rows_per_sec"},
	{"target_batch_ms", OPT_INT, FIELD(target_batch_ms), false, "target_batch_ms"},
	{"min_batch_size", OPT_INT, FIELD(min_batch_size), false, "min_batch_size"},
	{"max_batch_size", OPT_INT, FIELD(max_batch_size), false, "max_batch_size"},
	{"max_replication_lag", OPT_INTERVAL_MS, FIELD(max_replication_lag_ms), true,
	"max_replication_lag_ms"},
	{"source", OPT_SOURCE, FIELD(source), true, "source"},
	{"workers", OPT_INT, FIELD(workers), false, "workers"},
	{"vacuum_threshold", OPT_ROWS_OR_AUTO, FIELD(vacuum_threshold), true, "vacuum_threshold"},
};

#define NUM_OPTIONS lengthof(options)

/* The option an argument name stands for, or -1. */
static int
find_option(const char *name)
{
	int			i;

	for (i = 0; i < NUM_OPTIONS; i++)
		if (strcmp(options[i].name, name) == 0)
			return i;
	return -1;
}

/*
 * Whether jobs keep an option: it has a job_state column, and the
 * installed version of the extension has that column.
 */
static bool
stored(const BulkOption *opt)
{
	return opt->column != NULL && bulk_state_has_column("job_state", opt->column);
}

/* Where an option's field is in args. */
static void *
field(BulkTransitionArgs *args, const BulkOption *opt)
{
	return (char *) args + opt->offset;
}

/* Parse a strategy name. */
BulkStrategy
bulk_parse_strategy(const char *name)
{
	if (strcmp(name, "auto") == 0)
		return BULK_STRATEGY_AUTO;
	if (strcmp(name, "range") == 0)
		return BULK_STRATEGY_RANGE;
	if (strcmp(name, "limit") == 0)
		return BULK_STRATEGY_LIMIT;
	if (strcmp(name, "ctid") == 0)
		return BULK_STRATEGY_CTID;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unrecognized strategy \"%s\"", name),
			 errhint("Valid strategies are \"auto\", \"range\", \"limit\" and \"ctid\".")));
	return BULK_STRATEGY_AUTO;	/* keep compiler quiet */
}

/* The name of a strategy, for messages and for the job tables. */
const char *
bulk_strategy_name(BulkStrategy s)
{
	switch (s)
	{
		case BULK_STRATEGY_RANGE:
			return "range";
		case BULK_STRATEGY_LIMIT:
			return "limit";
		case BULK_STRATEGY_CTID:
			return "ctid";
		case BULK_STRATEGY_SOURCE:
			return "source";
		default:
			return "auto";
	}
}

/* An interval in milliseconds (a month counts 30 days). */
double
bulk_interval_ms(const Interval *iv)
{
	return ((double) iv->time +
			((double) iv->month * DAYS_PER_MONTH + iv->day) * USECS_PER_DAY) / 1000;
}

/* Insist that an integer option is not negative. */
static void
require_non_negative(int value, const char *argname)
{
	if (value < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative", argname)));
}

/* Check the numeric options every entry point shares. */
static void
check_options(const BulkTransitionArgs *args)
{
	if (args->batch_size <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be greater than zero")));
	require_non_negative(args->sleep_ms, "sleep_ms");
	require_non_negative(args->lock_timeout_ms, "lock_timeout_ms");
	require_non_negative(args->max_retries, "max_retries");
	require_non_negative(args->max_rows_per_sec, "max_rows_per_sec");
	require_non_negative(args->target_batch_ms, "target_batch_ms");
	if (args->min_batch_size <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_batch_size must be greater than zero")));
	if (args->max_batch_size < args->min_batch_size)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_batch_size must not be less than min_batch_size")));
}

/*
 * Store an option's value (not NULL) in its field: an argument's SQL value,
 * or with stored, its job_state column's (checked when it was submitted).
 */
static void
set_option(BulkTransitionArgs *args, const BulkOption *opt, Datum value, bool stored)
{
	void	   *f = field(args, opt);

	switch (opt->kind)
	{
		case OPT_RELATION:
		case OPT_SOURCE:
			*(Oid *) f = DatumGetObjectId(value);
			if (opt->kind == OPT_SOURCE && !OidIsValid(*(Oid *) f))
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_TABLE),
						 errmsg("source relation with OID 0 does not exist"),
						 errhint("Pass NULL for no source relation.")));
			break;
		case OPT_TEXT:
			*(char **) f = TextDatumGetCString(value);
			break;
		case OPT_NAME:
			*(char **) f = pstrdup(NameStr(*DatumGetName(value)));
			break;
		case OPT_INT:
			*(int *) f = DatumGetInt32(value);
			break;
		case OPT_BOOL:
			*(bool *) f = DatumGetBool(value);
			break;
		case OPT_STRATEGY:
			*(BulkStrategy *) f = bulk_parse_strategy(TextDatumGetCString(value));
			break;
		case OPT_ROWS_OR_AUTO:
			*(int64 *) f = DatumGetInt64(value);
			if (*(int64 *) f < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s must not be negative", opt->name),
						 errhint("NULL chooses it from the table's size; 0 turns it off.")));
			break;
		case OPT_INTERVAL_MS:
			if (stored)
				*(int64 *) f = DatumGetInt64(value);
			else
			{
				/* at least 1 ms, at most about a century */
				double		ms = bulk_interval_ms(DatumGetIntervalP(value));

				if (ms <= 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("%s must be positive", opt->name)));
				*(int64 *) f = (int64) Min(Max(ms, 1), 100.0 * 365 * 24 * 3600 * 1000);
			}
			break;
	}
}

/* The fields whose NULL (or absent) option is not zero. */
static void
set_null_defaults(BulkTransitionArgs *args)
{
	int			i;

	for (i = 0; i < NUM_OPTIONS; i++)
		if (options[i].kind == OPT_ROWS_OR_AUTO)
			*(int64 *) field(args, &options[i]) = -1;
}

/*
 * Read the options of a call of a transition, purge or stamp (or a submit
 * variant) into args, by the names of the function's arguments, and check
 * them: first that none is NULL that may not be, then each value.  The
 * kind of run (delete_rows, any_from) is the caller's to set.  An option
 * the entry point does not have keeps its default: zero, but for a stamp's
 * batch size bounds, which are 1 and batch_size.
 */
void
bulk_read_options(FunctionCallInfo fcinfo, BulkTransitionArgs *args)
{
	HeapTuple	proctup;
	Oid		   *types;
	char	  **names;
	char	   *modes;
	int			nargs;
	int			opt[FUNC_MAX_ARGS];
	bool		seen[NUM_OPTIONS] = {false};
	int			i;

	proctup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
	if (!HeapTupleIsValid(proctup))
		elog(ERROR, "cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
	nargs = get_func_arg_info(proctup, &types, &names, &modes);
	ReleaseSysCache(proctup);
	nargs = Min(nargs, fcinfo->nargs);

	for (i = 0; i < nargs; i++)
	{
		opt[i] = names ? find_option(names[i]) : -1;
		if (opt[i] >= 0 && !options[opt[i]].nullable)
			bulk_require_arg(PG_ARGISNULL(i), options[opt[i]].name);
	}

	memset(args, 0, sizeof(BulkTransitionArgs));
	set_null_defaults(args);
	for (i = 0; i < nargs; i++)
	{
		if (opt[i] < 0)
			continue;
		seen[opt[i]] = true;
		if (!PG_ARGISNULL(i))
			set_option(args, &options[opt[i]], PG_GETARG_DATUM(i), false);
	}
	if (!seen[find_option("min_batch_size")])
		args->min_batch_size = 1;
	if (!seen[find_option("max_batch_size")])
		args->max_batch_size = Max(args->batch_size, 1);
	check_options(args);
}

/*
 * Append the job_state columns of the options to cols (", "-separated),
 * and their values for a job of args as SPI parameters, from *n on;
 * advances *n.
 */
void
bulk_job_options_write(const BulkTransitionArgs *args, StringInfo cols,
					   Oid *types, Datum *values, char *nulls, int *n)
{
	int			i;

	for (i = 0; i < NUM_OPTIONS; i++)
	{
		const BulkOption *opt = &options[i];
		const void *f = (const char *) args + opt->offset;
		int			k;

		if (!stored(opt))
			continue;
		k = (*n)++;
		appendStringInfo(cols, "%s%s", cols->len > 0 ? ", " : "", opt->column);
		nulls[k] = ' ';
		switch (opt->kind)
		{
			case OPT_RELATION:
			case OPT_SOURCE:
				types[k] = REGCLASSOID;
				values[k] = ObjectIdGetDatum(*(const Oid *) f);
				if (!OidIsValid(*(const Oid *) f))
					nulls[k] = 'n';
				break;
			case OPT_TEXT:
				types[k] = TEXTOID;
				if (*(char *const *) f)
					values[k] = CStringGetTextDatum(*(char *const *) f);
				else
					nulls[k] = 'n';
				break;
			case OPT_NAME:
				types[k] = NAMEOID;
				values[k] = DirectFunctionCall1(namein, CStringGetDatum(*(char *const *) f));
				break;
			case OPT_INT:
				types[k] = INT4OID;
				values[k] = Int32GetDatum(*(const int *) f);
				break;
			case OPT_BOOL:
				types[k] = BOOLOID;
				values[k] = BoolGetDatum(*(const bool *) f);
				break;
			case OPT_STRATEGY:
				types[k] = TEXTOID;
				values[k] = CStringGetTextDatum(bulk_strategy_name(*(const BulkStrategy *) f));
				break;
			case OPT_INTERVAL_MS:
				types[k] = INT8OID;
				values[k] = Int64GetDatum(*(const int64 *) f);
				break;
			case OPT_ROWS_OR_AUTO:
				types[k] = INT8OID;
				values[k] = Int64GetDatum(*(const int64 *) f);
				if (*(const int64 *) f < 0)
					nulls[k] = 'n';
				break;
		}
	}
}

/* How many job_state columns the options have. */
int
bulk_job_options_count(void)
{
	int			i;
	int			n = 0;

	for (i = 0; i < NUM_OPTIONS; i++)
		if (stored(&options[i]))
			n++;
	return n;
}

/*
 * Append the options' job_state columns, qualified with alias, to a select
 * list (", "-separated): bulk_job_options_read() reads them back.
 */
void
bulk_job_options_select(StringInfo sql, const char *alias)
{
	int			i;
	bool		first = true;

	for (i = 0; i < NUM_OPTIONS; i++)
	{
		if (!stored(&options[i]))
			continue;
		appendStringInfo(sql, "%s%s.%s", first ? "" : ", ", alias, options[i].column);
		first = false;
	}
}

/*
 * Read the options of a job from a row whose columns first_col... are
 * those bulk_job_options_select() wrote, into args (in the current memory
 * context).
 */
void
bulk_job_options_read(HeapTuple tup, TupleDesc desc, int first_col,
					  BulkTransitionArgs *args)
{
	int			i;
	int			col = first_col;

	set_null_defaults(args);
	for (i = 0; i < NUM_OPTIONS; i++)
	{
		bool		isnull;
		Datum		value;

		if (!stored(&options[i]))
			continue;
		value = SPI_getbinval(tup, desc, col++, &isnull);
		if (!isnull)			/* else the field keeps its zero */
			set_option(args, &options[i], value, true);
	}
}
