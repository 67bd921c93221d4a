/*-------------------------------------------------------------------------
 *
 * batchsql.c
 *	  The statements of a batch, one shape per strategy, and their kept
 *	  plans.  For a table files(path text PRIMARY KEY, status text), a
 *	  transition from 'SYNCED' to 'DELETED' runs ($1 the new status, $2 the
 *	  old, $3... the bounds):
 *
 *	range	(auto's choice when matches are dense)
 *			SELECT files.path FROM ONLY public.files WHERE true
 *			  AND files.path > $3 ORDER BY files.path OFFSET 9999 LIMIT 1
 *			then, with the key found as $4:
 *			UPDATE ONLY public.files SET status = $1
 *			 WHERE files.status = $2 AND files.path > $3 AND files.path <= $4
 *			Bounded work per batch, whatever the density of matching rows.
 *
 *	limit	(auto's choice when matches are sparse)
 *			WITH bulk_status_next AS (SELECT files.path FROM ONLY public.files
 *			   WHERE files.status = $2 AND files.path > $3
 *			   ORDER BY files.path LIMIT 10000),
 *			 bulk_status_batch AS (SELECT files.path FROM ONLY public.files
 *			   WHERE files.status = $2 AND files.path > $3
 *			     AND files.path = ANY (ARRAY(SELECT path FROM bulk_status_next))
 *			   FOR UPDATE),
 *			 bulk_status_update AS (UPDATE ONLY public.files SET status = $1
 *			   WHERE true AND files.path = ANY (ARRAY(SELECT path FROM bulk_status_batch))
 *			   RETURNING files.path)
 *			SELECT (SELECT pg_catalog.count(*) FROM bulk_status_update),
 *			       (SELECT pg_catalog.count(*) FROM bulk_status_batch), path
 *			  FROM (SELECT 0 AS bulk_status_pri, path FROM bulk_status_update
 *			        UNION ALL SELECT 1, path FROM bulk_status_batch
 *			        UNION ALL SELECT 2, path FROM bulk_status_next) AS bulk_status_done
 *			 ORDER BY bulk_status_pri, path DESC LIMIT 1
 *			Bounded changes per batch; the last key it returns is the next
 *			position.
 *
 *	ctid	(auto's choice for a table without a key)
 *			UPDATE ONLY public.files SET status = $1
 *			 WHERE files.status = $2 AND files.ctid >= $3 AND files.ctid < $4
 *			A TID range scan of a fixed number of blocks: ($3, $4) are
 *			'(b,0)' and '(b+n,0)'.
 *
 *	source	(a transition with source => seen)
 *			UPDATE ONLY public.files SET status = $1
 *			 WHERE files.status = $2 AND files.path = ANY (ARRAY(
 *			   SELECT path::pg_catalog.text COLLATE pg_catalog."default"
 *			     FROM public.seen WHERE ctid >= $3 AND ctid < $4))
 *			Block ranges of the source; each of its keys is one probe of the
 *			table's key index.
 *
 * A purge writes "DELETE FROM ONLY public.files" for the UPDATE, a stamp
 * "files.status IS DISTINCT FROM $1" for the status test; a filter is
 * ANDed to the status test; a composite key compares as a row,
 * "(files.k1, files.k2) > ($3, $4)", and a source's composite key also
 * matches with "(k1, k2) IN (SELECT ...)".  skip_locked (range, ctid,
 * source) first locks what it can in a CTE,
 *			WITH bulk_status_batch AS (SELECT <key or ctid, tableoid> FROM ...
 *			   WHERE <the batch's rows> FOR UPDATE OF files SKIP LOCKED)
 *			UPDATE ... WHERE true AND files.path = ANY (ARRAY(SELECT path
 *			   FROM bulk_status_batch)) AND <the bounds>
 *			(ctid: ... FROM bulk_status_batch WHERE files.ctid = bulk_status_batch.bulk_status_tid
 *			 AND files.tableoid = bulk_status_batch.bulk_status_toid AND <the bounds>),
 *			and asks afterwards whether the batch left matching rows behind:
 *			SELECT EXISTS (SELECT FROM ONLY public.files WHERE <the batch's rows>).
 *
 * A leaf of a partitioned table is named as itself and aliased with the
 * partitioned table's name ("ONLY public.files_2024 AS files"), so that a
 * filter naming the table works on every leaf.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "engine.h"

/* The alias of the slice of the source relation a batch reads. */
#define SOURCE_ALIAS	"bulk_status_source"

/* The name of the CTE holding the rows a batch locked. */
#define BATCH_CTE		"bulk_status_batch"

/* The name of the CTE holding a limit batch's candidates (the next keys). */
#define NEXT_CTE		"bulk_status_next"

/* The quoted, schema-qualified name of a collation. */
static char *
qualified_collation(Oid collation)
{
	HeapTuple	tup = SearchSysCache1(COLLOID, ObjectIdGetDatum(collation));
	Form_pg_collation coll;
	char	   *name;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for collation %u", collation);
	coll = (Form_pg_collation) GETSTRUCT(tup);
	name = quote_qualified_identifier(get_namespace_name(coll->collnamespace),
									  NameStr(coll->collname));
	ReleaseSysCache(tup);
	return name;
}

/* Append the lower and upper bound conditions of a batch on the target. */
static void
append_bounds(BulkEngine *e, StringInfo sql, bool lower, bool upper)
{
	if (e->strategy == BULK_STRATEGY_SOURCE)
		return;					/* the bounds are on the source's slice */
	if (e->strategy == BULK_STRATEGY_CTID)
	{
		appendStringInfo(sql, " AND %s.ctid >= $%d AND %s.ctid < $%d",
						 e->alias, PARAM_LOWER + 1, e->alias, PARAM_LOWER + 2);
		return;
	}
	if (lower)
	{
		appendStringInfoString(sql, " AND ");
		bulk_append_key_cmp(sql, e->key, e->alias, ">", PARAM_LOWER + 1);
	}
	if (upper)
	{
		appendStringInfoString(sql, " AND ");
		bulk_append_key_cmp(sql, e->key, e->alias, "<=", PARAM_LOWER + 1 + e->nbound);
	}
	if (e->has_part_hi)
	{
		appendStringInfoString(sql, " AND ");
		bulk_append_key_cmp(sql, e->key, e->alias, "<=", PARAM_LOWER + 1 + 2 * e->nbound);
	}
}

/*
 * Append the status test of the rows to change: "status = $2", or for a
 * stamp (any status but the new one) "status IS DISTINCT FROM $1".
 */
void
bulk_append_status_match(BulkEngine *e, StringInfo sql)
{
	if (e->args->any_from)
		appendStringInfo(sql, "%s.%s IS DISTINCT FROM $%d", e->alias, e->status, PARAM_TO + 1);
	else
		appendStringInfo(sql, "%s.%s = $%d", e->alias, e->status, PARAM_FROM + 1);
}

/* Append the status test, the bounds and the filter: the rows of one batch. */
static void
append_batch_rows(BulkEngine *e, StringInfo sql, bool lower, bool upper)
{
	appendStringInfoString(sql, " WHERE ");
	bulk_append_status_match(e, sql);
	append_bounds(e, sql, lower, upper);
	if (e->args->filter)
	{
		appendStringInfoString(sql, " AND ");
		bulk_append_filter(sql, e->args->filter);
	}
}

/*
 * Append the join of the target to the rows a ctid batch locked: on
 * (tableoid, ctid), within the batch's block range.
 */
static void
append_join_to_locked_tids(BulkEngine *e, StringInfo sql)
{
	appendStringInfo(sql, "%s.ctid = " BATCH_CTE ".bulk_status_tid AND %s.tableoid = " BATCH_CTE ".bulk_status_toid",
					 e->alias, e->alias);
}

/*
 * Append source key column i (qualified with alias, if given) converted to
 * the key's type and collation, so that it compares the way the key index
 * does.  The type is written with typmod -1 "given": bpchar, not
 * character, which would mean char(1).
 */
static void
append_source_key(BulkEngine *e, StringInfo sql, const char *alias, int i)
{
	appendStringInfo(sql, "%s%s%s::%s", alias ? alias : "", alias ? "." : "",
					 e->key->names[i],
					 format_type_extended(e->key->types[i], -1,
										  FORMAT_TYPE_TYPEMOD_GIVEN |
										  FORMAT_TYPE_FORCE_QUALIFY));
	if (OidIsValid(e->key->collations[i]))
		appendStringInfo(sql, " COLLATE %s", qualified_collation(e->key->collations[i]));
}

/*
 * Append the key columns of a key set, the first ncols of them: with set
 * NULL, the source's key columns as the batch's slice of it (blocks [$3,
 * $4), a TID range scan) converted to the key's types and collations, so
 * that they compare the way the key index does; else the key columns of
 * CTE set (the locked batch, or a limit batch's candidates).
 */
static void
append_key_set(BulkEngine *e, StringInfo sql, const char *set, int ncols)
{
	int			i;

	appendStringInfoString(sql, "SELECT ");
	for (i = 0; i < ncols; i++)
	{
		appendStringInfoString(sql, i > 0 ? ", " : "");
		if (set == NULL)
			append_source_key(e, sql, NULL, i);
		else
			appendStringInfoString(sql, e->key->names[i]);
	}
	if (set == NULL)
		appendStringInfo(sql, " FROM %s WHERE ctid >= $%d AND ctid < $%d",
						 e->source, PARAM_LOWER + 1, PARAM_LOWER + 2);
	else
		appendStringInfo(sql, " FROM %s", set);
}

/*
 * Append " AND" the match of the target's key with a key set (the source's
 * slice, or the locked batch): "k1 = ANY (ARRAY(SELECT k1 FROM set))", which
 * the key index answers with one probe per key whatever the planner guesses
 * (a join was planned as a scan or hash of the whole table when statistics
 * misled it), and for a composite key also "(k1, k2) IN (SELECT ...)".
 * Matching by key lets an UPDATE that meets a row updated since its
 * snapshot follow it to its newest version and recheck it (EvalPlanQual),
 * as any UPDATE does.
 */
static void
append_key_set_match(BulkEngine *e, StringInfo sql, const char *set)
{
	appendStringInfo(sql, " AND %s.%s = ANY (ARRAY(", e->alias, e->key->names[0]);
	append_key_set(e, sql, set, 1);
	appendStringInfoString(sql, "))");
	if (e->key->nkeys > 1)
	{
		appendStringInfoString(sql, " AND (");
		bulk_append_key_list(sql, e->key, e->alias, false);
		appendStringInfoString(sql, ") IN (");
		append_key_set(e, sql, set, e->key->nkeys);
		appendStringInfoChar(sql, ')');
	}
}

/*
 * Append " AND" the match of the target's key with the whole source (for
 * the dry run's count, a semi-join).
 */
void
bulk_append_source_exists(BulkEngine *e, StringInfo sql)
{
	int			i;

	appendStringInfo(sql, " AND EXISTS (SELECT FROM %s AS " SOURCE_ALIAS " WHERE true", e->source);
	for (i = 0; i < e->key->nkeys; i++)
	{
		appendStringInfo(sql, " AND %s.%s = ", e->alias, e->key->names[i]);
		append_source_key(e, sql, SOURCE_ALIAS, i);
	}
	appendStringInfoChar(sql, ')');
}

/*
 * Append the head of the statement that changes a batch's rows: "UPDATE
 * t SET status = $1", or for a purge "DELETE FROM t", followed by " FROM "
 * or " USING " if the caller appends what to join.
 */
static void
append_change_head(BulkEngine *e, StringInfo sql, bool with_from)
{
	if (e->args->delete_rows)
		appendStringInfo(sql, "DELETE FROM %s%s%s", e->target, e->alias_clause,
						 with_from ? " USING " : "");
	else
		appendStringInfo(sql, "UPDATE %s%s SET %s = $%d%s", e->target, e->alias_clause,
						 e->status, PARAM_TO + 1, with_from ? " FROM " : "");
}

/*
 * Append "<head> AS (SELECT keys FROM t WHERE <the batch's rows>" and, for
 * a source, its key set match: the start of a CTE over a batch's rows, such
 * as "WITH bulk_status_batch", the one that locks them (the caller ends it).
 */
static void
append_rows_cte(BulkEngine *e, StringInfo sql, const char *head, bool lower, bool upper)
{
	appendStringInfo(sql, "%s AS (SELECT ", head);
	if (e->strategy == BULK_STRATEGY_CTID)
		appendStringInfo(sql, "%s.ctid AS bulk_status_tid, %s.tableoid AS bulk_status_toid",
						 e->alias, e->alias);
	else
		bulk_append_key_list(sql, e->key, e->alias, false);
	appendStringInfo(sql, " FROM %s%s", e->target, e->alias_clause);
	append_batch_rows(e, sql, lower, upper);
	if (e->strategy == BULK_STRATEGY_SOURCE)
		append_key_set_match(e, sql, NULL);
}

/*
 * The statement that changes one batch.  For range and ctid it is a plain
 * UPDATE of the batch's rows; for a source, an UPDATE of the rows whose key
 * is in the batch's slice of the source.  With skip_locked, a CTE first
 * locks what it can (FOR UPDATE SKIP LOCKED) and the UPDATE changes those.
 * For limit, a CTE picks the next keys, a second locks their rows, the
 * UPDATE changes them, and the statement returns (changed, locked, last
 * key...).
 *
 * An UPDATE of the rows a CTE locked does not test the status again: the
 * CTE only locked rows that had it (rechecked on their newest version) and
 * nobody can change them before we commit; leaving the test out also
 * leaves the planner no reason to drive the UPDATE from a status index.
 * One case escapes it: a row whose key a concurrent transaction changed
 * while the batch waited to lock it is locked under its new key but found
 * under its old one, so it is left as it is (like any row whose key moves
 * behind the position).
 */
char *
bulk_change_sql(BulkEngine *e, bool lower, bool upper, bool skip)
{
	StringInfoData sql;

	initStringInfo(&sql);
	if (e->strategy == BULK_STRATEGY_LIMIT)
	{
		/*
		 * The candidates first, the next batch_size matching keys, with no
		 * lock: a LIMIT right above the sort lets the planner keep only
		 * that many rows (a top-N sort in memory), where "ORDER BY ...
		 * LIMIT n FOR UPDATE" sorts every remaining match (the lock node
		 * between them keeps the bound from the sort) and spills to temp
		 * files when matches are many and not in key order.  Then lock the
		 * candidates by key, rechecking the batch's conditions on their
		 * newest versions: a candidate that another transaction changed
		 * meanwhile so that it no longer matches is left alone.
		 */
		append_rows_cte(e, &sql, "WITH " NEXT_CTE, lower, false);
		appendStringInfoString(&sql, " ORDER BY ");
		bulk_append_key_list(&sql, e->key, e->alias, false);
		appendStringInfo(&sql, " LIMIT %d)", e->batch_size);
		append_rows_cte(e, &sql, ", " BATCH_CTE, lower, false);
		append_key_set_match(e, &sql, NEXT_CTE);
		appendStringInfo(&sql, " FOR UPDATE%s), bulk_status_update AS (",
						 skip ? " SKIP LOCKED" : "");
		append_change_head(e, &sql, false);
		appendStringInfoString(&sql, " WHERE true");
		append_key_set_match(e, &sql, BATCH_CTE);

		/*
		 * The next position is the last key the batch changed, or, if it
		 * changed none, the last it locked, or, if it locked none, the
		 * last candidate (every candidate had changed): the batch returns
		 * no row, and the pass ends, only when there was no candidate.
		 */
		appendStringInfoString(&sql, " RETURNING ");
		bulk_append_key_list(&sql, e->key, e->alias, false);
		appendStringInfoString(&sql, ") SELECT (SELECT pg_catalog.count(*) FROM bulk_status_update),"
							   " (SELECT pg_catalog.count(*) FROM " BATCH_CTE "), ");
		bulk_append_key_list(&sql, e->key, NULL, false);
		appendStringInfoString(&sql, " FROM (SELECT 0 AS bulk_status_pri, ");
		bulk_append_key_list(&sql, e->key, NULL, false);
		appendStringInfoString(&sql, " FROM bulk_status_update UNION ALL SELECT 1, ");
		bulk_append_key_list(&sql, e->key, NULL, false);
		appendStringInfoString(&sql, " FROM " BATCH_CTE " UNION ALL SELECT 2, ");
		bulk_append_key_list(&sql, e->key, NULL, false);
		appendStringInfoString(&sql, " FROM " NEXT_CTE ") AS bulk_status_done ORDER BY bulk_status_pri, ");
		bulk_append_key_list(&sql, e->key, NULL, true);
		appendStringInfoString(&sql, " LIMIT 1");
	}
	else if (!skip)
	{
		append_change_head(e, &sql, false);
		append_batch_rows(e, &sql, lower, upper);
		if (e->strategy == BULK_STRATEGY_SOURCE)
			append_key_set_match(e, &sql, NULL);
	}
	else if (e->strategy == BULK_STRATEGY_CTID)
	{
		append_rows_cte(e, &sql, "WITH " BATCH_CTE, lower, upper);
		appendStringInfoString(&sql, " FOR UPDATE SKIP LOCKED) ");
		append_change_head(e, &sql, true);
		appendStringInfoString(&sql, BATCH_CTE " WHERE ");
		append_join_to_locked_tids(e, &sql);
		append_bounds(e, &sql, lower, upper);
	}
	else
	{
		append_rows_cte(e, &sql, "WITH " BATCH_CTE, lower, upper);
		appendStringInfo(&sql, " FOR UPDATE OF %s SKIP LOCKED) ", e->alias);
		append_change_head(e, &sql, false);
		appendStringInfoString(&sql, " WHERE true");
		append_key_set_match(e, &sql, BATCH_CTE);
		append_bounds(e, &sql, lower, upper);
	}
	return sql.data;
}

/* The query finding the key batch_size keys ahead (range). */
static char *
upper_sql(BulkEngine *e, bool lower)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	bulk_append_key_list(&sql, e->key, e->alias, false);
	appendStringInfo(&sql, " FROM %s%s WHERE true", e->target, e->alias_clause);
	append_bounds(e, &sql, lower, false);
	appendStringInfoString(&sql, " ORDER BY ");
	bulk_append_key_list(&sql, e->key, e->alias, false);
	appendStringInfo(&sql, " OFFSET %d LIMIT 1", e->batch_size - 1);
	return sql.data;
}

/* The query telling whether a batch left matching rows (skip_locked). */
static char *
exists_sql(BulkEngine *e, bool lower, bool upper)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT EXISTS (SELECT FROM %s%s", e->target, e->alias_clause);
	append_batch_rows(e, &sql, lower, upper);
	if (e->strategy == BULK_STRATEGY_SOURCE)
		append_key_set_match(e, &sql, NULL);
	appendStringInfoChar(&sql, ')');
	return sql.data;
}

/*
 * The kept plan of a batch statement, prepared (in run_cxt) on first use
 * and kept until the target changes or the batch size does.
 */
SPIPlanPtr
bulk_plan(BulkEngine *e, BulkStatement stmt, bool lower, bool upper, bool skip)
{
	SPIPlanPtr *slot = &e->plan[stmt][lower][upper][skip];

	if (*slot == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(e->run_cxt);
		char	   *sql = stmt == BULK_STMT_CHANGE ? bulk_change_sql(e, lower, upper, skip) :
			stmt == BULK_STMT_UPPER ? upper_sql(e, lower) : exists_sql(e, lower, upper);

		*slot = bulk_prepare(sql, e->nparams, e->argtypes);
		e->plans = lappend(e->plans, *slot);
		pfree(sql);
		MemoryContextSwitchTo(old);
	}
	return *slot;
}

/* Free a kept plan and clear its slot, so that it is prepared again. */
static void
forget_plan(BulkEngine *e, SPIPlanPtr *slot)
{
	if (*slot == NULL)
		return;
	e->plans = list_delete_ptr(e->plans, *slot);
	SPI_freeplan(*slot);
	*slot = NULL;
}

/*
 * Forget the plans that have the batch size written into them: range's
 * upper bound, and limit's batch.
 */
void
bulk_forget_sized_plans(BulkEngine *e)
{
	int			lower;
	int			skip;

	for (lower = 0; lower <= 1; lower++)
	{
		forget_plan(e, &e->plan[BULK_STMT_UPPER][lower][0][0]);
		for (skip = 0; skip <= 1; skip++)
			if (e->strategy == BULK_STRATEGY_LIMIT)
				forget_plan(e, &e->plan[BULK_STMT_CHANGE][lower][0][skip]);
	}
}

/* Forget every kept plan (a new target). */
void
bulk_forget_all_plans(BulkEngine *e)
{
	bulk_free_plan_callback(&e->plans);
	memset(e->plan, 0, sizeof(e->plan));
}
