/*-------------------------------------------------------------------------
 *
 * dryrun.c
 *	  A dry run of a transition, purge or stamp: how many rows would
 *	  change, in about how many batches, and the first batch's statement
 *	  with its plan (EXPLAIN, costs off), as NOTICEs.  It changes nothing,
 *	  takes no lock beyond a read's, and may run inside a transaction block.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "engine.h"

/*
 * Dry run of the current target: count its rows that would change and
 * estimate its batches; for the first target, also return the first
 * batch's statement and plan.  Changes nothing; returns the count.
 */
static int64
dry_run_target(BulkEngine *e, bool show_plan, int64 *batches,
			   char **stmt_out, char **plan_out)
{
	StringInfoData sql;
	int64		matching;
	int64		total;
	bool		isnull;
	bool		upper = true;
	char	   *stmt;
	uint64		i;

	initStringInfo(&sql);
	if (e->strategy == BULK_STRATEGY_SOURCE)
	{
		/* in WHERE, not in an aggregate's FILTER, the EXISTS is a semi-join */
		appendStringInfo(&sql, "SELECT 0::bigint, pg_catalog.count(*) FROM %s%s WHERE ",
						 e->target, e->alias_clause);
		bulk_append_status_match(e, &sql);
		bulk_append_source_exists(e, &sql);
		if (e->args->filter)
		{
			appendStringInfoString(&sql, " AND ");
			bulk_append_filter(&sql, e->args->filter);
		}
	}
	else
	{
		appendStringInfoString(&sql, "SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE ");
		bulk_append_status_match(e, &sql);
		if (e->args->filter)
		{
			appendStringInfoString(&sql, " AND ");
			bulk_append_filter(&sql, e->args->filter);
		}
		appendStringInfo(&sql, ") FROM %s%s", e->target, e->alias_clause);
	}
	if (SPI_execute_with_args(sql.data, e->nparams, e->argtypes, e->values,
							  e->nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "dry run count failed");
	total = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	matching = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

	if (WALKS_BLOCKS(e))
		*batches += (e->nblocks + e->blocks_per_batch - 1) / e->blocks_per_batch;
	else if (e->strategy == BULK_STRATEGY_RANGE)
		*batches += (total + e->args->batch_size - 1) / e->args->batch_size;
	else
		*batches += (matching + e->args->batch_size - 1) / e->args->batch_size;
	if (!show_plan)
		return matching;

	if (WALKS_BLOCKS(e))
	{
		bulk_set_tid_param(e, PARAM_LOWER, 0);
		bulk_set_tid_param(e, PARAM_LOWER + 1, Min(e->blocks_per_batch, e->nblocks));
	}
	else if (e->strategy == BULK_STRATEGY_RANGE)
	{
		upper = bulk_execute_plan(e, bulk_plan(e, BULK_STMT_UPPER, false, false, false),
								  SPI_OK_SELECT) > 0;
		if (upper)
			bulk_take_upper_key(e, 1);
	}
	stmt = bulk_change_sql(e, WALKS_BLOCKS(e), upper,
					  e->args->skip_locked);
	resetStringInfo(&sql);
	appendStringInfo(&sql, "EXPLAIN (COSTS OFF) %s", stmt);
	if (SPI_execute_with_args(sql.data, e->nparams, e->argtypes, e->values,
							  e->nulls, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "dry run EXPLAIN failed");
	resetStringInfo(&sql);
	for (i = 0; i < SPI_processed; i++)
		appendStringInfo(&sql, "%s%s", i > 0 ? "\n" : "",
						 SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	*stmt_out = stmt;
	*plan_out = sql.data;
	return matching;
}

/*
 * Dry run over every target: count, estimate the batches, show the first
 * batch's statement and plan.  Returns the rows that would change.
 */
int64
bulk_dry_run(BulkEngine *e, List *targets)
{
	BulkTransitionArgs *args = e->args;
	int64		result = 0;
	int64		batches = 0;
	char	   *stmt = NULL;
	char	   *plan = NULL;
	BulkStrategy first = args->strategy;
	bool		mixed = false;
	ListCell   *lc;

	foreach(lc, targets)
		if (bulk_open_target(e, lfirst_oid(lc)))
		{
			if (stmt == NULL)
				first = e->strategy;
			else if (e->strategy != first)
				mixed = true;
			result += dry_run_target(e, stmt == NULL, &batches,
									 &stmt, &plan);
		}
	ereport(NOTICE,
			(errmsg("dry run: " INT64_FORMAT " rows of %s would %s, strategy %s%s",
					result, e->parent_name,
					args->delete_rows ?
					psprintf("be deleted (%s %s)", quote_identifier(args->status_column),
							 quote_literal_cstr(args->from_status)) :
					psprintf("change from %s to %s",
							 args->any_from ? "any other value" :
							 quote_literal_cstr(args->from_status),
							 quote_literal_cstr(args->to_status)),
					bulk_strategy_name(first),
					mixed ? " (others on some partitions)" : ""),
			 errdetail("About " INT64_FORMAT " %s of %s %d rows, %d %s.",
					   batches, batches == 1 ? "batch" : "batches",
					   first == BULK_STRATEGY_CTID ? "blocks, each about" :
					   first == BULK_STRATEGY_SOURCE ? "source blocks, each about" : "at most",
					   args->batch_size, list_length(targets),
					   list_length(targets) == 1 ? "relation" : "relations one after the other")));
	if (stmt)
		ereport(NOTICE,
				(errmsg("first batch: %s", stmt),
				 errdetail("%s", plan)));
	return result;
}
