/*-------------------------------------------------------------------------
 *
 * transition.c
 *	  CALL bulk_status.transition(...): the in-session driver of the batch
 *	  engine.
 *
 * It reads and checks the arguments that do not need the table (options.c),
 * insists on a non-atomic context (a top-level CALL, or a CALL from a
 * procedure that was itself called so), connects to SPI non-atomically so
 * that the engine
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

#include "bulk_status.h"

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

	bulk_read_options(fcinfo, &args);
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

	bulk_read_options(fcinfo, &args);
	args.delete_rows = true;
	return run_procedure(fcinfo, &args, "bulk_status.purge");
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

	bulk_read_options(fcinfo, &args);
	args.any_from = true;
	return run_procedure(fcinfo, &args, "bulk_status.stamp");
}
