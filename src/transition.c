/*-------------------------------------------------------------------------
 *
 * transition.c
 *	  CALL bulk_status.transition(...): the in-session driver of the batch
 *	  engine.
 *
 * It checks the arguments that do not need the table, insists on a
 * non-atomic context (a top-level CALL, or a CALL from a procedure that
 * was itself called so), connects to SPI non-atomically so that the engine
 * may commit after every batch, and returns the rows changed as the
 * procedure's INOUT argument.  A dry run changes nothing and may run
 * anywhere, including inside a transaction block.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/parsenodes.h"
#include "datatype/timestamp.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "bulk_status.h"

/* Insist that an integer option is not negative. */
static void
require_non_negative(int value, const char *argname)
{
	if (value < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative", argname)));
}

/*
 * A positive interval in whole milliseconds (a month counts 30 days),
 * at least 1 ms and at most about a century.
 */
static int64
interval_ms(Interval *iv, const char *argname)
{
	double		us = (double) iv->time +
		((double) iv->month * DAYS_PER_MONTH + iv->day) * USECS_PER_DAY;

	if (us <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be positive", argname)));
	return (int64) Min(Max(us / 1000, 1), 100.0 * 365 * 24 * 3600 * 1000);
}

/* The source argument: InvalidOid if NULL, an error for a dangling OID. */
static Oid
source_arg(FunctionCallInfo fcinfo, int argno)
{
	Oid			source;

	if (PG_ARGISNULL(argno))
		return InvalidOid;
	source = PG_GETARG_OID(argno);
	if (!OidIsValid(source))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("source relation with OID 0 does not exist"),
				 errhint("Pass NULL for no source relation.")));
	return source;
}

/* Check the numeric options every driver shares. */
static void
check_args(const BulkTransitionArgs *args)
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
 * Read the arguments of transition or purge (or of their submit variants,
 * which have no dry_run) into args, checking each; return the number of
 * arguments read.  A purge has the arguments of a transition but to_status
 * (its status argument is the transition's from_status); "n" below is the
 * transition's numbering.
 */
int
bulk_read_transition_args(FunctionCallInfo fcinfo, BulkTransitionArgs *args,
						  bool purge, bool has_dry_run)
{
	static const char *const names[] = {
		"rel", "from_status", "to_status", NULL, "status_column",
		"batch_size", "strategy", "sleep_ms", "lock_timeout_ms",
		"max_retries", "skip_locked", "dry_run", "max_rows_per_sec",
		"target_batch_ms", "min_batch_size", "max_batch_size", NULL
	};
	int			n;

#define ARG(n) ((n) - ((n) >= 2 && purge) - ((n) > 11 && !has_dry_run))
	for (n = 0; n < lengthof(names); n++)
		if (names[n] != NULL && !(purge && n == 2) && !(n == 11 && !has_dry_run))
			bulk_require_arg(PG_ARGISNULL(ARG(n)),
							 purge && n == 1 ? "status" : names[n]);

	memset(args, 0, sizeof(BulkTransitionArgs));
	args->delete_rows = purge;
	args->relid = PG_GETARG_OID(0);
	args->from_status = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!purge)
		args->to_status = text_to_cstring(PG_GETARG_TEXT_PP(2));
	args->filter = PG_ARGISNULL(ARG(3)) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(ARG(3)));
	args->status_column = pstrdup(NameStr(*PG_GETARG_NAME(ARG(4))));
	args->batch_size = PG_GETARG_INT32(ARG(5));
	args->strategy = bulk_parse_strategy(text_to_cstring(PG_GETARG_TEXT_PP(ARG(6))));
	args->sleep_ms = PG_GETARG_INT32(ARG(7));
	args->lock_timeout_ms = PG_GETARG_INT32(ARG(8));
	args->max_retries = PG_GETARG_INT32(ARG(9));
	args->skip_locked = PG_GETARG_BOOL(ARG(10));
	args->dry_run = has_dry_run && PG_GETARG_BOOL(ARG(11));
	args->max_rows_per_sec = PG_GETARG_INT32(ARG(12));
	args->target_batch_ms = PG_GETARG_INT32(ARG(13));
	args->min_batch_size = PG_GETARG_INT32(ARG(14));
	args->max_batch_size = PG_GETARG_INT32(ARG(15));
	args->max_replication_lag_ms = PG_ARGISNULL(ARG(16)) ? 0 :
		interval_ms(PG_GETARG_INTERVAL_P(ARG(16)), "max_replication_lag");
	args->source = source_arg(fcinfo, ARG(17));
	n = ARG(18);
#undef ARG

	check_args(args);
	return n;
}

/*
 * Run a transition (or a stamp) described by args and return the rows
 * changed as the procedure's INOUT argument.
 */
static Datum
run_procedure(FunctionCallInfo fcinfo, BulkTransitionArgs *args, const char *name)
{
	bool		atomic;
	int64		changed;
	TupleDesc	tupdesc;
	Datum		value;
	bool		isnull = false;

	atomic = !(fcinfo->context && IsA(fcinfo->context, CallContext) &&
			   !castNode(CallContext, fcinfo->context)->atomic);
	if (atomic && !args->dry_run)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run inside a transaction block", name),
				 errdetail("It commits after every batch."),
				 errhint("Run CALL %s(...) as a statement of its own, outside BEGIN ... COMMIT and not from a function, or as a background job scheduled with pg_cron; dry_run => true previews it inside a transaction.",
						 name)));

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	if (SPI_connect_ext(atomic ? 0 : SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	changed = bulk_transition_run(args, atomic);
	SPI_finish();

	value = Int64GetDatum(changed);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, &value, &isnull)));
}

PG_FUNCTION_INFO_V1(bulk_status_transition);

/* CALL bulk_status.transition(...) */
Datum
bulk_status_transition(PG_FUNCTION_ARGS)
{
	BulkTransitionArgs args;

	(void) bulk_read_transition_args(fcinfo, &args, false, true);
	return run_procedure(fcinfo, &args, "bulk_status.transition");
}

PG_FUNCTION_INFO_V1(bulk_status_purge);

/*
 * CALL bulk_status.purge(rel, status, ...): delete the rows with a status,
 * in batches, with the options and guarantees of a transition.
 */
Datum
bulk_status_purge(PG_FUNCTION_ARGS)
{
	BulkTransitionArgs args;

	(void) bulk_read_transition_args(fcinfo, &args, true, true);
	return run_procedure(fcinfo, &args, "bulk_status.purge");
}

/*
 * Read the arguments of stamp (or of submit_stamp, which has no dry_run)
 * into args, checking each; return the number of arguments read.
 */
int
bulk_read_stamp_args(FunctionCallInfo fcinfo, BulkTransitionArgs *args,
					 bool has_dry_run)
{
	static const char *const names[] = {
		"rel", "column_name", "value", NULL, NULL, "batch_size", "sleep_ms",
		"lock_timeout_ms", "max_retries", "skip_locked", "dry_run",
		"max_rows_per_sec", NULL
	};
	int			n;

#define ARG(n) ((n) - ((n) > 10 && !has_dry_run))
	for (n = 0; n < lengthof(names); n++)
		if (names[n] != NULL && !(n == 10 && !has_dry_run))
			bulk_require_arg(PG_ARGISNULL(ARG(n)), names[n]);

	memset(args, 0, sizeof(BulkTransitionArgs));
	args->any_from = true;
	args->relid = PG_GETARG_OID(0);
	args->status_column = pstrdup(NameStr(*PG_GETARG_NAME(1)));
	args->to_status = text_to_cstring(PG_GETARG_TEXT_PP(2));
	args->source = source_arg(fcinfo, 3);
	args->filter = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	args->batch_size = PG_GETARG_INT32(5);
	args->strategy = BULK_STRATEGY_AUTO;
	args->sleep_ms = PG_GETARG_INT32(6);
	args->lock_timeout_ms = PG_GETARG_INT32(7);
	args->max_retries = PG_GETARG_INT32(8);
	args->skip_locked = PG_GETARG_BOOL(9);
	args->dry_run = has_dry_run && PG_GETARG_BOOL(10);
	args->max_rows_per_sec = PG_GETARG_INT32(ARG(11));
	args->max_replication_lag_ms = PG_ARGISNULL(ARG(12)) ? 0 :
		interval_ms(PG_GETARG_INTERVAL_P(ARG(12)), "max_replication_lag");
	args->min_batch_size = 1;
	args->max_batch_size = Max(args->batch_size, 1);
	n = ARG(13);
#undef ARG
	check_args(args);
	return n;
}

PG_FUNCTION_INFO_V1(bulk_status_stamp);

/*
 * CALL bulk_status.stamp(rel, column_name, value, source, filter, ...):
 * set a column to a value, in batches, on every row (of the source, and
 * matching the filter) where it has any other value.  The batched write of
 * a generation-based sync cycle.
 */
Datum
bulk_status_stamp(PG_FUNCTION_ARGS)
{
	BulkTransitionArgs args;

	(void) bulk_read_stamp_args(fcinfo, &args, true);
	return run_procedure(fcinfo, &args, "bulk_status.stamp");
}
