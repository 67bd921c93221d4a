/*-------------------------------------------------------------------------
 *
 * engine.c
 *	  The batch loop of a status transition: change rows whose status is
 *	  "from" to "to", one bounded batch per transaction, walking the table
 *	  in key (or block) order from a remembered position.
 *
 * A run prepares its statements once (SPI_prepare + SPI_keepplan), then
 * loops: run one batch, remember the new position, commit, report progress,
 * sleep if asked.  Three batch shapes ("strategies") exist:
 *
 *	range	find the key batch_size keys ahead (an index-only scan of the
 *			key), then UPDATE ... WHERE key > pos AND key <= upper AND
 *			status = from.  Bounded work per batch whatever the density of
 *			matching rows.  Chosen by "auto" for tables with a key when
 *			more than a tenth of the rows are expected to match.
 *	limit	lock the next batch_size rows with status = from in key order,
 *			update them, and move the position to the last one.  Bounded
 *			changes per batch; chosen by "auto" when matches are sparse
 *			(by the planner's estimate).
 *	ctid	UPDATE ... WHERE ctid >= '(b,0)' AND ctid < '(b+n,0)' AND
 *			status = from: TID range scans over a fixed number of blocks.
 *			For tables without a key.  It visits the blocks the table had
 *			when the run started.
 *
 * A partitioned table is walked leaf by leaf, each leaf by its own key (or
 * blocks) with its own plans, when updating the leaves directly cannot be
 * told apart from an UPDATE of the partitioned table (see
 * choose_targets()).  When it could (row-level security, a status column
 * in the partition key so rows move, statement-level triggers, foreign
 * leaves, leaves the caller may not update), every batch is an UPDATE of
 * the partitioned table itself, so PostgreSQL applies exactly the rules of
 * an ordinary UPDATE.
 *
 * skip_locked: rows locked by other transactions are skipped (FOR UPDATE
 * SKIP LOCKED); a batch that left some behind is noticed by re-checking
 * its range, and a second pass starting at the first such batch then
 * waits for them.  lock_timeout_ms: each batch runs in a subtransaction
 * under that lock_timeout and is retried with exponential backoff when it
 * times out; after max_retries the error is raised.
 *
 * Memory: run_cxt owns everything that lives for the run (parameters, the
 * kept-plan list, position contexts).  batch_cxt holds all per-batch
 * allocations and is reset after every batch.  The position lives in one
 * of two small contexts, pos_cxt[cur]; a batch writes the next position
 * into pos_cxt[!cur], and only a committed batch makes it current.  So the
 * engine's memory after batch 10 and after batch 10,000 is the same.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xact.h"
#include "catalog/partition.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/itemptr.h"
#include "storage/latch.h"
#include "parser/parse_coerce.h"
#include "utils/acl.h"
#include "catalog/objectaddress.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/partcache.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "bulk_status.h"
#include "compat.h"

/* Parameters of every batch statement: $1 to, $2 from, then the bounds. */
#define PARAM_TO		0
#define PARAM_FROM		1
#define PARAM_LOWER		2

/*
 * Strategy auto picks limit below this share of matching rows: measured on
 * 1M rows, limit took half the time of range at 5%, and twice its time at
 * 98%.
 */
#define SPARSE_SHARE	0.10

/* Statistics are not trusted once this share of rows changed since. */
#define STALE_SHARE		0.10

/* Whether batches are block ranges (of the table, or of the source). */
#define WALKS_BLOCKS(e) \
	((e)->strategy == BULK_STRATEGY_CTID || (e)->strategy == BULK_STRATEGY_SOURCE)

/* The alias of the slice of the source relation a batch reads. */
#define SOURCE_ALIAS	"bulk_status_source"

/* The name of the CTE holding the rows a batch locked. */
#define BATCH_CTE		"bulk_status_batch"

/* The name of the CTE holding a limit batch's candidates (the next keys). */
#define NEXT_CTE		"bulk_status_next"

/* Longest pause between two attempts of a batch that could not lock rows. */
#define MAX_BACKOFF_MS	30000

typedef struct BulkEngine
{
	BulkTransitionArgs *args;
	bool		atomic;			/* no commits: only a dry run may do this */

	MemoryContext run_cxt;		/* the whole run */
	MemoryContext target_cxt;	/* the relation being walked */
	MemoryContext batch_cxt;	/* one batch; reset after each */
	MemoryContext pos_cxt[2];	/* positions: current and next */
	int			cur;			/* which pos_cxt holds the current one */
	List	   *plans;			/* kept plans, freed with run_cxt */
	List	   *refreshed;		/* relations whose statistics it refreshed */

	char	   *parent_name;	/* the table named by the caller, quoted */
	char	   *parent_alias;	/* its unqualified name, quoted */
	char	   *relname;		/* the relation being walked, quoted */
	char	   *target;			/* the same, as the statements name it */
	char	   *alias;			/* what they qualify its columns with */
	char	   *alias_clause;	/* "" or " AS <the named table's name>" */
	Oid			target_relid;
	Oid			target_nsp;
	char	   *target_name;	/* unquoted, to notice a rename */
	char	   *source;			/* source relation as the statements name it */
	Oid			source_nsp;		/* and where it was, to notice a rename */
	char	   *source_name;
	char	   *status;			/* quoted status column */
	Oid			status_type;
	int32		status_typmod;
	Datum		from_value;		/* in run_cxt */
	Datum		to_value;
	BulkStrategy strategy;
	BulkKey    *key;			/* NULL for ctid */
	int16	   *key_typlen;
	bool	   *key_typbyval;

	/* the bounds: nkeys key values each, or one tid each for ctid */
	int			nbound;
	int			nparams;
	Oid		   *argtypes;
	Datum	   *values;
	char	   *nulls;

	/* position: the last key done, or the next block to do */
	bool		has_pos;
	BlockNumber pos_block;
	BlockNumber nblocks;		/* ctid: blocks to walk */
	BlockNumber blocks_per_batch;
	double		rows_per_block;	/* ctid: rows a block holds, across leaves */
	bool		done;

	int			batch_size;		/* now: adapts with target_batch_ms */
	int64		last_changed;	/* rows the last batch changed */
	BulkThrottle throttle;

	/* skip_locked: where the second pass must start */
	bool		skipped;
	bool		retry_has_pos;
	Datum	   *retry_pos;
	BlockNumber retry_block;

	/* plans, prepared on first use: [has lower bound][has upper][skip] */
	SPIPlanPtr	upper_plan[2];
	SPIPlanPtr	update_plan[2][2][2];
	SPIPlanPtr	exists_plan[2][2];

	BulkRunStats stats;
	instr_time	start;
	instr_time	last_progress;

	/* a background job's part and its driver */
	bool		has_part_hi;	/* key bounds end at the part's last key */
	int			target_index;	/* of the current target in the run */
	int			pass;			/* 1, or 2 for skip_locked's second pass */
	bool		stopped;		/* the driver stopped the run */
} BulkEngine;

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

/* The name of a strategy, for messages. */
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

/* Whether the caller holds privilege "mode" on column attnum of rel. */
static bool
has_column_privilege(Relation rel, AttrNumber attnum, AclMode mode)
{
	Oid			relid = RelationGetRelid(rel);

	return pg_class_aclcheck(relid, GetUserId(), mode) == ACLCHECK_OK ||
		pg_attribute_aclcheck(relid, attnum, GetUserId(), mode) == ACLCHECK_OK;
}

/* Insist that the caller holds privilege "mode" on column attnum of rel. */
static void
check_column_privilege(Relation rel, AttrNumber attnum, AclMode mode)
{
	if (has_column_privilege(rel, attnum, mode))
		return;
	aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(rel->rd_rel->relkind),
				   RelationGetRelationName(rel));
}

/*
 * Count the blocks of rel, or of each partition of a partitioned rel (the
 * longest one bounds a ctid walk), and size a ctid batch from the tuple
 * density that the last VACUUM or ANALYZE recorded.
 */
static void
measure_blocks(BulkEngine *e, Relation rel, bool with_children)
{
	List	   *children = with_children ?
		find_all_inheritors(RelationGetRelid(rel), AccessShareLock, NULL) :
		list_make1_oid(RelationGetRelid(rel));
	ListCell   *lc;
	double		tuples = 0;
	double		pages = 0;
	double		per_page;
	int			nonempty = 0;

	e->nblocks = 0;
	foreach(lc, children)
	{
		Relation	child = relation_open(lfirst_oid(lc), NoLock);

		if (RELKIND_HAS_STORAGE(child->rd_rel->relkind))
		{
			BlockNumber n = RelationGetNumberOfBlocks(child);

			e->nblocks = Max(e->nblocks, n);
			if (n > 0)
				nonempty++;
			if (child->rd_rel->reltuples > 0 && child->rd_rel->relpages > 0)
			{
				tuples += child->rd_rel->reltuples;
				pages += child->rd_rel->relpages;
			}
		}
		relation_close(child, NoLock);
	}
	/*
	 * A batch covers the same block range in every child, so divide by the
	 * number of children that have blocks.  Without statistics, estimate
	 * the row width from the column types.
	 */
	if (pages > 0)
		per_page = tuples / pages;
	else
	{
		TupleDesc	desc = RelationGetDescr(rel);
		double		width = MAXALIGN(SizeofHeapTupleHeader) + sizeof(ItemIdData);
		int			i;

		for (i = 0; i < desc->natts; i++)
			if (!TupleDescAttr(desc, i)->attisdropped)
				width += get_typavgwidth(TupleDescAttr(desc, i)->atttypid,
										 TupleDescAttr(desc, i)->atttypmod);
		per_page = (BLCKSZ - SizeOfPageHeaderData) / width;
	}
	e->rows_per_block = Max(per_page, 1.0) * Max(nonempty, 1);
	e->blocks_per_batch = (BlockNumber) Max(1.0, e->batch_size / e->rows_per_block);
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
static void
append_status_match(BulkEngine *e, StringInfo sql)
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
	append_status_match(e, sql);
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
static void
append_source_exists(BulkEngine *e, StringInfo sql)
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
static char *
update_sql(BulkEngine *e, bool lower, bool upper, bool skip)
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

/* Prepare (once) and return the plan for a batch statement. */
static SPIPlanPtr
get_update_plan(BulkEngine *e, bool lower, bool upper, bool skip)
{
	SPIPlanPtr *slot = &e->update_plan[lower][upper][skip];

	if (*slot == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(e->run_cxt);
		char	   *sql = update_sql(e, lower, upper, skip);

		*slot = bulk_prepare(sql, e->nparams, e->argtypes);
		e->plans = lappend(e->plans, *slot);
		pfree(sql);
		MemoryContextSwitchTo(old);
	}
	return *slot;
}

/* Prepare (once) the query finding the key batch_size keys ahead. */
static SPIPlanPtr
get_upper_plan(BulkEngine *e, bool lower)
{
	if (e->upper_plan[lower] == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(e->run_cxt);
		StringInfoData sql;

		initStringInfo(&sql);
		appendStringInfoString(&sql, "SELECT ");
		bulk_append_key_list(&sql, e->key, e->alias, false);
		appendStringInfo(&sql, " FROM %s%s WHERE true", e->target, e->alias_clause);
		append_bounds(e, &sql, lower, false);
		appendStringInfoString(&sql, " ORDER BY ");
		bulk_append_key_list(&sql, e->key, e->alias, false);
		appendStringInfo(&sql, " OFFSET %d LIMIT 1", e->batch_size - 1);
		e->upper_plan[lower] = bulk_prepare(sql.data, e->nparams, e->argtypes);
		e->plans = lappend(e->plans, e->upper_plan[lower]);
		pfree(sql.data);
		MemoryContextSwitchTo(old);
	}
	return e->upper_plan[lower];
}

/* Prepare (once) the query telling whether a batch left matching rows. */
static SPIPlanPtr
get_exists_plan(BulkEngine *e, bool lower, bool upper)
{
	if (e->exists_plan[lower][upper] == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(e->run_cxt);
		StringInfoData sql;

		initStringInfo(&sql);
		appendStringInfo(&sql, "SELECT EXISTS (SELECT FROM %s%s", e->target, e->alias_clause);
		append_batch_rows(e, &sql, lower, upper);
		if (e->strategy == BULK_STRATEGY_SOURCE)
			append_key_set_match(e, &sql, NULL);
		appendStringInfoChar(&sql, ')');
		e->exists_plan[lower][upper] = bulk_prepare(sql.data, e->nparams, e->argtypes);
		e->plans = lappend(e->plans, e->exists_plan[lower][upper]);
		pfree(sql.data);
		MemoryContextSwitchTo(old);
	}
	return e->exists_plan[lower][upper];
}

/* What SPI reports for a batch's UPDATE, or a purge's DELETE. */
static int
change_result(BulkEngine *e)
{
	return e->args->delete_rows ? SPI_OK_DELETE : SPI_OK_UPDATE;
}

/*
 * Run a kept plan with the engine's parameters; return SPI_processed.
 * SPI leaves its own procedure context current on return; go back to the
 * caller's (the batch context), so per-batch allocations stay per batch.
 */
static uint64
execute(BulkEngine *e, SPIPlanPtr plan, int expected)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			jit = bulk_jit_off();
	int			rc = SPI_execute_plan(plan, e->values, e->nulls, false, 0);

	bulk_jit_restore(jit);
	MemoryContextSwitchTo(cxt);
	if (rc != expected)
		elog(ERROR, "unexpected SPI result %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/*
 * Mark the lower (first 0) or upper (first nbound) bound parameters as
 * NULL ('n') or set (' ').  A bound not in use must be NULL: a parallel
 * plan serialises every parameter, including ones the statement ignores,
 * and a stale one may point into a context that was reset.
 */
static void
set_bound_nulls(BulkEngine *e, int first, char flag)
{
	if (!WALKS_BLOCKS(e))
		memset(e->nulls + PARAM_LOWER + first, flag, e->nbound);
}

/*
 * Copy the key in columns first_col... of the first result row into the
 * next position context, and point the upper-bound parameters at it.
 */
static void
take_upper_key(BulkEngine *e, int first_col)
{
	int			next = 1 - e->cur;
	MemoryContext old = MemoryContextSwitchTo(e->pos_cxt[next]);
	int			i;

	for (i = 0; i < e->nbound; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
									  first_col + i, &isnull);

		if (isnull)
			elog(ERROR, "key column of a batch bound is null");
		e->values[PARAM_LOWER + e->nbound + i] =
			datumCopy(d, e->key_typbyval[i], e->key_typlen[i]);
		e->nulls[PARAM_LOWER + e->nbound + i] = ' ';
	}
	MemoryContextSwitchTo(old);
}

/* Set a tid parameter to (block, 0). */
static void
set_tid_param(BulkEngine *e, int param, BlockNumber block)
{
	ItemPointer tid = (ItemPointer) palloc(sizeof(ItemPointerData));

	ItemPointerSet(tid, block, 0);
	e->values[param] = PointerGetDatum(tid);
	e->nulls[param] = ' ';
}

/*
 * Remember, once per run, where a batch that left locked rows behind
 * started; the second pass starts there.
 */
static void
note_skipped(BulkEngine *e)
{
	MemoryContext old;
	int			i;

	if (e->skipped)
		return;
	e->skipped = true;
	e->retry_has_pos = e->has_pos;
	e->retry_block = e->pos_block;
	if (e->key == NULL || !e->has_pos)
		return;
	old = MemoryContextSwitchTo(e->target_cxt);
	e->retry_pos = palloc(sizeof(Datum) * e->nbound);
	for (i = 0; i < e->nbound; i++)
		e->retry_pos[i] = datumCopy(e->values[PARAM_LOWER + i],
									e->key_typbyval[i], e->key_typlen[i]);
	MemoryContextSwitchTo(old);
}

/*
 * After a skip_locked batch, check whether its range still holds rows
 * with the from status: rows that other transactions had locked.
 */
static void
check_skipped(BulkEngine *e, bool lower, bool upper)
{
	bool		isnull;

	execute(e, get_exists_plan(e, lower, upper), SPI_OK_SELECT);
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
								   1, &isnull)))
		note_skipped(e);
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Lock the table the caller named (while walking one of its leaves), or
 * raise 42P01 if it was dropped during the run.
 */
static void
lock_named_table(BulkEngine *e, LOCKMODE mode)
{
	Relation	named = try_relation_open(e->args->relid, mode);

	if (named == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation %s was dropped during the transition", e->parent_name)));
	relation_close(named, NoLock);
}

/*
 * Lock the target for this batch's transaction, as its UPDATE would, and
 * make sure it is still the relation the run started on: no lock is held
 * between batches, and the kept plans name it by name.  For a leaf, lock
 * the named table first, as an UPDATE of it would, and check that the
 * leaf still belongs to it.  Returns false if the leaf was dropped or
 * detached meanwhile: its rows are no longer the named table's.
 */
static bool
lock_target(BulkEngine *e)
{
	Relation	rel;

	if (e->target_relid != e->args->relid)
		lock_named_table(e, RowExclusiveLock);
	rel = try_relation_open(e->target_relid, RowExclusiveLock);
	if (rel == NULL)
	{
		if (e->target_relid != e->args->relid)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation %s was dropped during the transition", e->relname)));
	}
	if (e->target_relid != e->args->relid &&
		!list_member_oid(get_partition_ancestors(e->target_relid), e->args->relid))
	{
		relation_close(rel, NoLock);
		return false;
	}
	if (RelationGetNamespace(rel) != e->target_nsp ||
		strcmp(RelationGetRelationName(rel), e->target_name) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation %s was renamed or moved during the transition", e->relname),
				 errdetail("It is now %s.", bulk_quoted_relname(rel)),
				 errhint("Run the transition again under the new name.")));
	relation_close(rel, NoLock);

	/* the source too: the statements name it by name */
	if (e->strategy == BULK_STRATEGY_SOURCE)
	{
		Relation	source = try_relation_open(e->args->source, AccessShareLock);

		if (source == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("source relation %s was dropped during the transition", e->source)));
		if (RelationGetNamespace(source) != e->source_nsp ||
			strcmp(RelationGetRelationName(source), e->source_name) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("source relation %s was renamed or moved during the transition", e->source)));
		relation_close(source, NoLock);
	}
	return true;
}

/*
 * Run one batch in the current transaction; return the rows it changed.
 * On return the next position is in pos_cxt[1 - cur] (key strategies) and
 * e->done says whether this was the last batch.
 */
static int64
run_batch(BulkEngine *e, bool skip)
{
	int64		changed = 0;
	bool		lower = e->has_pos;

	/* The next position's context is free again: no upper bound yet. */
	MemoryContextReset(e->pos_cxt[1 - e->cur]);
	set_bound_nulls(e, e->nbound, 'n');

	/* Under this batch's lock_timeout, and retried like its rows' locks. */
	if (!lock_target(e))
	{
		e->done = true;
		return 0;
	}

	if (WALKS_BLOCKS(e))
	{
		BlockNumber upper = e->pos_block + Min(e->blocks_per_batch,
											   e->nblocks - e->pos_block);

		set_tid_param(e, PARAM_LOWER, e->pos_block);
		set_tid_param(e, PARAM_LOWER + 1, upper);
		changed = execute(e, get_update_plan(e, true, true, skip), change_result(e));
		if (skip)
			check_skipped(e, true, true);
		e->done = upper >= e->nblocks;
	}
	else if (e->strategy == BULK_STRATEGY_RANGE)
	{
		bool		upper;

		upper = execute(e, get_upper_plan(e, lower), SPI_OK_SELECT) > 0;
		if (upper)
			take_upper_key(e, 1);
		SPI_freetuptable(SPI_tuptable);
		changed = execute(e, get_update_plan(e, lower, upper, skip), change_result(e));
		if (skip)
			check_skipped(e, lower, upper);
		e->done = !upper;
	}
	else
	{
		/* limit: the statement returns (changed, locked, last key...) */
		if (execute(e, get_update_plan(e, lower, false, skip), SPI_OK_SELECT) == 0)
			e->done = true;
		else
		{
			bool		isnull;

			changed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												  SPI_tuptable->tupdesc, 1, &isnull));
			take_upper_key(e, 3);
			e->done = false;
		}
		SPI_freetuptable(SPI_tuptable);

		/*
		 * With skip_locked, a batch that locked nothing may still have
		 * skipped rows: every remaining match may be locked by others.
		 */
		if (skip)
			check_skipped(e, lower, !e->done);
	}
	return changed;
}


/*
 * Run one batch under lock_timeout_ms in a subtransaction, retrying with
 * exponential backoff when it cannot get its locks in time.  Any other
 * error, or the last timeout, is raised: the batch changed nothing.
 */
static int64
run_batch_with_retries(BulkEngine *e, bool skip)
{
	int			attempt;

	if (e->args->lock_timeout_ms == 0)
		return run_batch(e, skip);

	for (attempt = 0;; attempt++)
	{
		MemoryContext cxt = CurrentMemoryContext;
		ResourceOwner owner = CurrentResourceOwner;
		volatile int64 changed = 0;
		ErrorData  *edata = NULL;

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			changed = run_batch(e, skip);
			ReleaseCurrentSubTransaction();
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
		}
		PG_END_TRY();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;

		if (edata == NULL)
			return changed;
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE ||
			attempt >= e->args->max_retries)
			ReThrowError(edata);
		else
		{
			int64		backoff = (int64) e->args->lock_timeout_ms << Min(attempt, 20);
			int			delay = (int) Min(backoff, MAX_BACKOFF_MS);

			ereport(NOTICE,
					(errmsg("a batch of %s could not lock its rows within %d ms, retry %d of %d",
							e->relname, e->args->lock_timeout_ms,
							attempt + 1, e->args->max_retries)));
			FreeErrorData(edata);
			bulk_report_phase("lock_retry");
			bulk_sleep(delay);
			bulk_report_phase("running");
		}
	}
}

/* Emit a progress NOTICE if the interval has passed (or if final). */
static void
report_progress(BulkEngine *e, bool final)
{
	instr_time	now;
	double		since_last;
	double		elapsed;

	if (bulk_status_progress_interval <= 0)
		return;
	INSTR_TIME_SET_CURRENT(now);
	since_last = INSTR_TIME_GET_MILLISEC(now) - INSTR_TIME_GET_MILLISEC(e->last_progress);
	if (!final && since_last < bulk_status_progress_interval)
		return;
	e->last_progress = now;
	INSTR_TIME_SUBTRACT(now, e->start);
	elapsed = INSTR_TIME_GET_DOUBLE(now);
	ereport(NOTICE,
			(errmsg("%s of %s: %s" INT64_FORMAT " rows %s in " INT64_FORMAT " batches, %.1f s, %.0f rows/s",
					e->args->delete_rows ? "purge" :
					e->args->any_from ? "stamp" : "transition",
					e->relname, final ? "done, " : "",
					e->stats.rows, e->args->delete_rows ? "deleted" : "changed",
					e->stats.batches, elapsed,
					elapsed > 0 ? e->stats.rows / elapsed : 0.0)));
}

/*
 * Use batches of "size" from now on: forget the plans that have the size
 * written into them (range's upper bound, limit's batch), to be prepared
 * again when next needed, or resize ctid's block ranges.
 */
static void
resize_batches(BulkEngine *e, int size)
{
	int			lower;
	int			skip;

	if (size == e->batch_size)
		return;
	e->batch_size = size;
	if (WALKS_BLOCKS(e))
	{
		e->blocks_per_batch = (BlockNumber) Max(1.0, size / e->rows_per_block);
		return;
	}
	for (lower = 0; lower <= 1; lower++)
	{
		forget_plan(e, &e->upper_plan[lower]);
		for (skip = 0; skip <= 1; skip++)
			if (e->strategy == BULK_STRATEGY_LIMIT)
				forget_plan(e, &e->update_plan[lower][0][skip]);
	}
}


/*
 * Commit the current transaction and start the next, with batch_cxt
 * current: committing a transaction that wrote rows leaves a small
 * allocation in the current context (PostgreSQL 15 asks pgstat for the
 * stats to drop with palloc(0)), which would otherwise pile up, one per
 * batch, in a context that lives on.  Leaves run_cxt current.
 */
static void
commit(BulkEngine *e)
{
	MemoryContextSwitchTo(e->batch_cxt);
	if (e->args->driver)
		e->args->driver->commit(e->args->driver->arg);
	else
		SPI_commit();
	MemoryContextSwitchTo(e->run_cxt);
	MemoryContextReset(e->batch_cxt);
}

/*
 * Key values from their text forms (written under bulk_key_text_settings),
 * into the current memory context.
 */
static void
key_from_text(BulkEngine *e, char **text, int n, Datum *values)
{
	int			i;

	if (n != e->nbound)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a stored position of %s has %d values for a key of %d columns",
						e->relname, n, e->nbound),
				 errdetail("The key of the table changed since the job was submitted.")));
	for (i = 0; i < n; i++)
		values[i] = bulk_key_value_from_text(e->key, i, text[i]);
}

/* The text forms of nbound key values, in the current memory context. */
static char **
key_to_text(BulkEngine *e, Datum *values)
{
	char	  **text = palloc(sizeof(char *) * e->nbound);
	int			i;

	for (i = 0; i < e->nbound; i++)
		text[i] = bulk_key_value_to_text(e->key, i, values[i]);
	return text;
}

/*
 * Hand the driver where the run is after a batch, in the batch's
 * transaction.  When the batch finished its target, the position is the
 * start of the next one.
 */
static void
report_position(BulkEngine *e, int64 changed)
{
	BulkPosition pos;
	bool		finished = e->done && !(e->pass == 1 && e->skipped);

	memset(&pos, 0, sizeof(pos));
	pos.target = finished ? InvalidOid : e->target_relid;
	pos.target_index = e->target_index + (finished ? 1 : 0);
	pos.strategy = e->strategy;
	pos.pass = e->pass;
	pos.position_block = e->pos_block;
	if (!finished && e->key != NULL && e->has_pos)
	{
		pos.npos = e->nbound;
		pos.position = key_to_text(e, e->values + PARAM_LOWER);
	}
	pos.skipped = !finished && e->skipped;
	if (pos.skipped)
	{
		pos.retry_block = e->retry_block;
		if (e->key != NULL && e->retry_has_pos && e->retry_pos)
			pos.retry_position = key_to_text(e, e->retry_pos);
	}
	pos.changed = changed;
	pos.rows = e->stats.rows;
	pos.batches = e->stats.batches;
	pos.batch_size = e->batch_size;
	pos.engine_peak = e->stats.engine_peak;
	e->args->driver->after_batch(e->args->driver->arg, &pos);
}

/* Walk from the current position to the end, committing every batch. */
static void
run_pass(BulkEngine *e, bool skip)
{
	char		timeout[32];

	e->done = WALKS_BLOCKS(e) && e->pos_block >= e->nblocks;
	snprintf(timeout, sizeof(timeout), "%d", e->args->lock_timeout_ms);

	while (!e->done)
	{
		int64		changed;
		instr_time	batch_start;

		/*
		 * Pause before every batch but the run's first: also between two
		 * leaves and before a second pass, so caps hold across them.
		 */
		if (e->stats.batches > 0)
			bulk_throttle_pause(&e->throttle, e->last_changed,
								bulk_status_progress_interval > 0);
		CHECK_FOR_INTERRUPTS();
		if (e->args->driver && !e->args->driver->before_batch(e->args->driver->arg))
		{
			e->stopped = true;
			break;
		}
		INSTR_TIME_SET_CURRENT(batch_start);
		MemoryContextSwitchTo(e->batch_cxt);
		if (e->args->lock_timeout_ms > 0)
			(void) set_config_option("lock_timeout", timeout, PGC_USERSET,
									 PGC_S_SESSION, GUC_ACTION_LOCAL,
									 true, 0, false);

		changed = run_batch_with_retries(e, skip);

		/* The batch is done: its end becomes the position. */
		if (WALKS_BLOCKS(e))
			e->pos_block = Min(e->pos_block + e->blocks_per_batch, e->nblocks);
		else if (!e->done)
		{
			int			i;

			e->cur = 1 - e->cur;
			for (i = 0; i < e->nbound; i++)
				e->values[PARAM_LOWER + i] = e->values[PARAM_LOWER + e->nbound + i];
			set_bound_nulls(e, 0, ' ');
			e->has_pos = true;
		}
		e->stats.rows += changed;
		e->stats.batches++;
		bulk_stats_sample(&e->stats, e->run_cxt);
		if (e->args->driver)
			report_position(e, changed);

		commit(e);
		bulk_stats_finish(&e->stats, e->start);

		report_progress(e, false);
		if (!e->done)
		{
			instr_time	now;

			INSTR_TIME_SET_CURRENT(now);
			INSTR_TIME_SUBTRACT(now, batch_start);
			resize_batches(e, bulk_throttle_batch_size(&e->throttle, e->batch_size,
													   INSTR_TIME_GET_MILLISEC(now)));
		}
		e->last_changed = changed;
	}
}

/* Set the position back to where the first batch with skipped rows began. */
static void
rewind_to_skipped(BulkEngine *e)
{
	int			i;

	e->has_pos = e->retry_has_pos;
	e->pos_block = e->retry_block;
	if (e->retry_pos)
		for (i = 0; i < e->nbound; i++)
			e->values[PARAM_LOWER + i] = e->retry_pos[i];
	set_bound_nulls(e, 0, e->has_pos ? ' ' : 'n');
}

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
		append_status_match(e, &sql);
		append_source_exists(e, &sql);
		if (e->args->filter)
		{
			appendStringInfoString(&sql, " AND ");
			bulk_append_filter(&sql, e->args->filter);
		}
	}
	else
	{
		appendStringInfoString(&sql, "SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE ");
		append_status_match(e, &sql);
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
		set_tid_param(e, PARAM_LOWER, 0);
		set_tid_param(e, PARAM_LOWER + 1, Min(e->blocks_per_batch, e->nblocks));
	}
	else if (e->strategy == BULK_STRATEGY_RANGE)
	{
		upper = execute(e, get_upper_plan(e, false), SPI_OK_SELECT) > 0;
		if (upper)
			take_upper_key(e, 1);
	}
	stmt = update_sql(e, WALKS_BLOCKS(e), upper,
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
 * Whether the caller may read the key and status, and write the status
 * (or, for a purge, delete rows).
 */
static bool
has_transition_privileges(Relation rel, AttrNumber status_attnum, BulkKey *key,
						  bool delete_rows)
{
	int			i;

	if (delete_rows ?
		pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_DELETE) != ACLCHECK_OK :
		!has_column_privilege(rel, status_attnum, ACL_UPDATE))
		return false;
	if (!has_column_privilege(rel, status_attnum, ACL_SELECT))
		return false;
	for (i = 0; key && i < key->nkeys; i++)
		if (!has_column_privilege(rel, key->attnums[i], ACL_SELECT))
			return false;
	return true;
}

/*
 * A purge that locks its rows first (strategy limit, skip_locked) does so
 * with SELECT ... FOR UPDATE, which needs the UPDATE privilege and, under
 * row-level security, would apply UPDATE policies where a DELETE applies
 * DELETE policies: refuse those cases rather than delete other rows.
 */
static void
check_purge_locking(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);

	if (rel->rd_rel->relrowsecurity)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a purge of \"%s\" cannot lock its rows first, because row-level security is enabled",
						RelationGetRelationName(rel)),
				 errdetail("Strategy \"limit\" and skip_locked lock rows with SELECT ... FOR UPDATE, which applies UPDATE policies."),
				 errhint("Use strategy \"range\" or \"ctid\" without skip_locked.")));
	if (pg_class_aclcheck(relid, GetUserId(), ACL_UPDATE) != ACLCHECK_OK &&
		pg_attribute_aclcheck_all(relid, GetUserId(), ACL_UPDATE, ACLMASK_ANY) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("a purge of \"%s\" that locks its rows first needs the UPDATE privilege",
						RelationGetRelationName(rel)),
				 errdetail("Strategy \"limit\" and skip_locked lock rows with SELECT ... FOR UPDATE."),
				 errhint("Use strategy \"range\" or \"ctid\" without skip_locked.")));
}

/* Whether rel has rules that rewrite the run's UPDATE (or DELETE). */
static bool
has_change_rules(BulkEngine *e, Relation rel)
{
	CmdType		cmd = e->args->delete_rows ? CMD_DELETE : CMD_UPDATE;
	int			i;

	for (i = 0; rel->rd_rules && i < rel->rd_rules->numLocks; i++)
		if (rel->rd_rules->rules[i]->event == cmd)
			return true;
	return false;
}

/*
 * Whether rel's live columns have the same names and types, in the same
 * order, as parent's.  Otherwise a whole-row reference in a filter would
 * mean another row on the leaf than on the partitioned table.
 */
static bool
same_columns(Relation parent, Relation rel)
{
	TupleDesc	a = RelationGetDescr(parent);
	TupleDesc	b = RelationGetDescr(rel);
	int			i = 0;
	int			j = 0;

	for (;;)
	{
		while (i < a->natts && TupleDescAttr(a, i)->attisdropped)
			i++;
		while (j < b->natts && TupleDescAttr(b, j)->attisdropped)
			j++;
		if (i >= a->natts || j >= b->natts)
			return i >= a->natts && j >= b->natts;
		if (TupleDescAttr(a, i)->atttypid != TupleDescAttr(b, j)->atttypid ||
			strcmp(NameStr(TupleDescAttr(a, i)->attname),
				   NameStr(TupleDescAttr(b, j)->attname)) != 0)
			return false;
		i++;
		j++;
	}
}

/* Whether the run's UPDATEs (or DELETEs) on rel fire statement-level triggers. */
static bool
has_statement_triggers(BulkEngine *e, Relation rel)
{
	TriggerDesc *td = rel->trigdesc;

	if (td == NULL)
		return false;
	if (e->args->delete_rows)
		return td->trig_delete_before_statement || td->trig_delete_after_statement ||
			td->trig_delete_old_table;
	return td->trig_update_before_statement || td->trig_update_after_statement ||
		td->trig_update_new_table || td->trig_update_old_table;
}

/* Whether the status column is (or may be) part of rel's partition key. */
static bool
status_in_partition_key(Relation rel, const char *status_column)
{
	PartitionKey pk = RelationGetPartitionKey(rel);
	int			i;

	for (i = 0; i < pk->partnatts; i++)
	{
		if (pk->partattrs[i] == 0)
			return true;		/* an expression: assume it may */
		if (strcmp(get_attname(RelationGetRelid(rel), pk->partattrs[i], false),
				   status_column) == 0)
			return true;
	}
	return false;
}

/*
 * The relations to walk, one after the other.  A partitioned table is
 * walked leaf by leaf, each leaf by its own key or blocks, when updating
 * the leaves directly is indistinguishable from an UPDATE of the
 * partitioned table: no row-level security anywhere in the tree, the
 * status not in any partition key (no row would move), no statement-level
 * or transition-table UPDATE triggers, only plain tables as leaves, with
 * their columns in the partitioned table's order (so that a whole-row
 * reference in a filter means the same), and the caller's privileges on
 * every leaf.  Otherwise the partitioned table
 * itself is the one target, walked by its own key or its leaves' blocks.
 */
static List *
choose_targets(BulkEngine *e, Relation parent)
{
	List	   *tree;
	List	   *leaves = NIL;
	ListCell   *lc;
	const char *why = NULL;

	if (parent->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		return list_make1_oid(RelationGetRelid(parent));

	tree = find_all_inheritors(RelationGetRelid(parent), AccessShareLock, NULL);
	foreach(lc, tree)
	{
		Relation	rel = relation_open(lfirst_oid(lc), NoLock);

		if (rel->rd_rel->relrowsecurity)
			why = "row-level security is enabled";
		else if (has_statement_triggers(e, rel))
			why = "it has statement-level triggers";
		else if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		{
			if (status_in_partition_key(rel, e->args->status_column))
				why = "the status column is part of a partition key";
		}
		else if (rel->rd_rel->relkind != RELKIND_RELATION)
			why = "a partition is not a plain table";
		else if (!same_columns(parent, rel))
			why = "a partition's columns are not in the same order";
		else
		{
			AttrNumber	attnum = get_attnum(RelationGetRelid(rel),
											e->args->status_column);
			BulkKey    *key = bulk_find_key(rel);

			if (!has_transition_privileges(rel, attnum, key, e->args->delete_rows))
				why = "the caller lacks privileges on a partition";
			else
				leaves = lappend_oid(leaves, RelationGetRelid(rel));
		}
		relation_close(rel, NoLock);
		if (why)
			break;
	}
	if (why == NULL)
	{
		ereport(DEBUG1,
				(errmsg_internal("bulk_status: walking %d partitions of %s one at a time",
								 list_length(leaves), e->parent_name)));
		return leaves;
	}
	ereport(DEBUG1,
			(errmsg_internal("bulk_status: walking %s as a whole: %s",
							 e->parent_name, why)));
	list_free(leaves);
	return list_make1_oid(RelationGetRelid(parent));
}

/* The planner's row estimate for a query without parameters. */
double
bulk_estimated_rows(const char *sql)
{
	SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);
	CachedPlan *cplan;
	double		rows;

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	cplan = SPI_plan_get_cached_plan(plan);
	rows = linitial_node(PlannedStmt, cplan->stmt_list)->planTree->plan_rows;
	ReleaseCachedPlan(cplan, NULL);
	SPI_freeplan(plan);
	return rows;
}

/*
 * The share of the current target's rows that the planner expects to have
 * the from status (and to match the filter).  The status is written as a
 * literal, so that the estimate uses the column's most common values.
 */
static double
estimated_share(BulkEngine *e)
{
	StringInfoData sql;
	double		total;
	double		matching;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT FROM %s%s", e->target, e->alias_clause);
	total = bulk_estimated_rows(sql.data);
	appendStringInfo(&sql, " WHERE %s.%s = %s::%s", e->alias, e->status,
					 quote_literal_cstr(e->args->from_status),
					 format_type_extended(e->status_type, e->status_typmod,
										  FORMAT_TYPE_TYPEMOD_GIVEN |
										  FORMAT_TYPE_FORCE_QUALIFY));
	if (e->args->filter)
	{
		appendStringInfoString(&sql, " AND ");
		bulk_append_filter(&sql, e->args->filter);
	}
	matching = bulk_estimated_rows(sql.data);
	pfree(sql.data);
	return total > 0 ? matching / total : 1.0;
}

/*
 * The planner's estimate of the rows the current target's walk will
 * change: the source's rows, or the target's rows with the from status
 * (every row, for a stamp).
 */
static double
estimated_changes(BulkEngine *e)
{
	StringInfoData sql;

	initStringInfo(&sql);
	if (e->strategy == BULK_STRATEGY_SOURCE)
	{
		appendStringInfo(&sql, "SELECT FROM %s", e->source);
		return bulk_estimated_rows(sql.data);
	}
	appendStringInfo(&sql, "SELECT FROM %s%s", e->target, e->alias_clause);
	if (e->args->any_from)
		return bulk_estimated_rows(sql.data);
	return bulk_estimated_rows(sql.data) * estimated_share(e);
}

/*
 * Whether rel's statistics on its status column exist, and whether they
 * are stale: more than STALE_SHARE of its rows changed since they were
 * gathered.  In a sync cycle the prepare phase turns most rows into the
 * status the next phase starts from, while the statistics still say that
 * status is rare.
 */
static bool
status_stats(BulkEngine *e, Relation rel, bool *stale)
{
	Oid			relid = RelationGetRelid(rel);
	AttrNumber	attnum = get_attnum(relid, e->args->status_column);
	bool		inh = rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE;
	PgStat_StatTabEntry *tab;
	PgStat_TableStatus *local;
	PgStat_Counter changed;

	*stale = false;
	if (!SearchSysCacheExists3(STATRELATTINH, ObjectIdGetDatum(relid),
							   Int16GetDatum(attnum), BoolGetDatum(inh)))
		return false;
	/* changes reported so far, and this session's own not reported yet */
	tab = pgstat_fetch_stat_tabentry(relid);
	local = find_tabstat_entry(relid);
	changed = (tab ? BULK_TAB_CHANGES_SINCE_ANALYZE(tab) : 0) +
		(local ? BULK_PENDING_CHANGED_TUPLES(local) : 0);
	*stale = changed > STALE_SHARE * Max(rel->rd_rel->reltuples, 1);
	return true;
}

/*
 * Refresh a plain table's stale statistics before planning batches on it,
 * when the caller owns it (as ANALYZE requires), but not in a dry run
 * inside a transaction block (ANALYZE's lock would last until the caller's
 * commit) nor on an inheritance parent (ANALYZE would sample its
 * children): with statistics that call the from status rare, the planner
 * drives a batch from a scan of the whole table.  Returns whether it did.
 */
static bool
refresh_stale_stats(BulkEngine *e, Relation rel)
{
	StringInfoData sql;
	bool		stale;

	MemoryContext old;

	if (list_member_oid(e->refreshed, RelationGetRelid(rel)))
		return true;
	if (e->atomic || rel->rd_rel->relkind != RELKIND_RELATION ||
		rel->rd_rel->relhassubclass ||
		!status_stats(e, rel, &stale) || !stale ||
		!bulk_owns_relation(RelationGetRelid(rel), GetUserId()))
		return false;

	/* a whole-table ANALYZE: a column list would leave the change count */
	initStringInfo(&sql);
	appendStringInfo(&sql, "ANALYZE %s", bulk_quoted_relname(rel));
	if (SPI_execute(sql.data, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "ANALYZE failed");
	pfree(sql.data);
	old = MemoryContextSwitchTo(e->run_cxt);
	e->refreshed = lappend_oid(e->refreshed, RelationGetRelid(rel));
	MemoryContextSwitchTo(old);
	return true;
}

/*
 * Whether the planner expects few rows of rel to match (see SPARSE_SHARE).
 * Its guess means nothing without statistics on the status column, or with
 * stale ones (see status_stats) that could not be refreshed; then rel is
 * not called sparse.
 */
static bool
looks_sparse(BulkEngine *e, Relation rel, bool refreshed)
{
	bool		stale;

	if (e->args->any_from)
		return false;			/* a stamp changes most rows, as a rule */
	if (!status_stats(e, rel, &stale) || (stale && !refreshed))
		return false;
	return estimated_share(e) < SPARSE_SHARE;
}

/*
 * A background job's part covers a slice of the walk: the keys after
 * range_lo up to range_hi, or the blocks [block_lo, block_hi).  Called by
 * setup_target() with target_cxt current.
 */
static void
set_part_bounds(BulkEngine *e)
{
	const BulkTransitionArgs *args = e->args;

	if (WALKS_BLOCKS(e))
	{
		if (args->range_lo || args->range_hi)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("job part of %s was split by key, but the relation is now walked by blocks",
							e->relname)));
		if (args->block_lo > 0)
			e->pos_block = (BlockNumber) Min(args->block_lo, (int64) e->nblocks);
		if (args->block_hi > 0)
			e->nblocks = (BlockNumber) Min(args->block_hi, (int64) e->nblocks);
		return;
	}
	if (args->block_lo > 0 || args->block_hi > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("job part of %s was split by blocks, but the relation is now walked by key",
						e->relname)));
	if (args->range_hi)
	{
		key_from_text(e, args->range_hi, args->range_nkeys,
					  e->values + PARAM_LOWER + 2 * e->nbound);
		memset(e->nulls + PARAM_LOWER + 2 * e->nbound, ' ', e->nbound);
	}
	if (args->range_lo)
	{
		MemoryContext old = MemoryContextSwitchTo(e->pos_cxt[e->cur]);

		key_from_text(e, args->range_lo, args->range_nkeys, e->values + PARAM_LOWER);
		MemoryContextSwitchTo(old);
		e->has_pos = true;
		set_bound_nulls(e, 0, ' ');
	}
}

/*
 * Resume the current target where a background job's stored position
 * says, if it is for this target and strategy; otherwise the target is
 * walked from its start (safe: rows already changed no longer match).
 */
static void
apply_resume(BulkEngine *e)
{
	const BulkPosition *r = e->args->resume;
	MemoryContext old;

	if (r == NULL || r->target != e->target_relid ||
		r->target_index != e->target_index)
		return;
	if (r->strategy != e->strategy)
	{
		ereport(LOG,
				(errmsg("bulk_status: %s is now walked with strategy %s, not %s: starting it again from the beginning",
						e->relname, bulk_strategy_name(e->strategy),
						bulk_strategy_name(r->strategy))));
		return;
	}
	e->pass = r->pass;
	if (WALKS_BLOCKS(e))
		e->pos_block = (BlockNumber) Min(r->position_block, (int64) e->nblocks);
	else if (r->position)
	{
		old = MemoryContextSwitchTo(e->pos_cxt[e->cur]);
		key_from_text(e, r->position, r->npos, e->values + PARAM_LOWER);
		MemoryContextSwitchTo(old);
		e->has_pos = true;
		set_bound_nulls(e, 0, ' ');
	}
	if (r->skipped)
	{
		e->skipped = true;
		e->retry_block = (BlockNumber) r->retry_block;
		e->retry_has_pos = r->retry_position != NULL;
		if (e->retry_has_pos && e->key != NULL)
		{
			old = MemoryContextSwitchTo(e->target_cxt);
			e->retry_pos = palloc(sizeof(Datum) * e->nbound);
			key_from_text(e, r->retry_position, r->npos, e->retry_pos);
			MemoryContextSwitchTo(old);
		}
	}
}

/*
 * Make rel the current target: find its key, settle the strategy, size
 * the parameters, forget the previous target's plans and position.
 */
static void
setup_target(BulkEngine *e, Relation rel)
{
	int			i;
	bool		refreshed;

	bulk_free_plan_callback(&e->plans);
	memset(e->upper_plan, 0, sizeof(e->upper_plan));
	memset(e->update_plan, 0, sizeof(e->update_plan));
	memset(e->exists_plan, 0, sizeof(e->exists_plan));
	MemoryContextReset(e->target_cxt);
	MemoryContextSwitchTo(e->target_cxt);

	e->relname = bulk_quoted_relname(rel);
	e->target = rel->rd_rel->relkind == RELKIND_RELATION ?
		psprintf("ONLY %s", e->relname) : e->relname;
	/*
	 * Statements on the named table call it by its own name; a leaf is
	 * aliased with the named table's, so that a filter naming the table
	 * ("files.size > 0") works on every leaf.
	 */
	if (RelationGetRelid(rel) == e->args->relid)
	{
		e->alias = pstrdup(quote_identifier(RelationGetRelationName(rel)));
		e->alias_clause = "";
	}
	else
	{
		e->alias = e->parent_alias;
		e->alias_clause = psprintf(" AS %s", e->parent_alias);
	}
	e->target_relid = RelationGetRelid(rel);
	e->target_nsp = RelationGetNamespace(rel);
	e->target_name = pstrdup(RelationGetRelationName(rel));
	if (has_change_rules(e, rel))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot change rows of \"%s\" in batches because it has %s rules",
						RelationGetRelationName(rel),
						e->args->delete_rows ? "DELETE" : "UPDATE"),
				 errdetail("A rule would rewrite each batch into other statements.")));
	e->key = bulk_find_key(rel);
	refreshed = refresh_stale_stats(e, rel);
	e->strategy = e->args->strategy;
	if (OidIsValid(e->args->source))
		e->strategy = BULK_STRATEGY_SOURCE;
	else if (e->strategy == BULK_STRATEGY_AUTO)
		e->strategy = e->key == NULL ? BULK_STRATEGY_CTID :
			!e->args->delete_rows && looks_sparse(e, rel, refreshed) ?
			BULK_STRATEGY_LIMIT : BULK_STRATEGY_RANGE;
	if (e->args->delete_rows &&
		(e->strategy == BULK_STRATEGY_LIMIT || e->args->skip_locked))
		check_purge_locking(rel);

	/*
	 * The statistics checks ran SPI, which leaves its own context current:
	 * what follows lives as long as the target.
	 */
	MemoryContextSwitchTo(e->target_cxt);
	if (e->strategy != BULK_STRATEGY_CTID && e->key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s\" has no primary key or unique index on NOT NULL columns",
						RelationGetRelationName(rel)),
				 errdetail("Strategy \"%s\" walks the table in key order.",
						   bulk_strategy_name(e->strategy)),
				 errhint("Use strategy \"ctid\", or \"auto\" to choose it for tables without a key.")));

	if (e->strategy == BULK_STRATEGY_CTID)
	{
		e->key = NULL;
		e->nbound = 1;
		measure_blocks(e, rel, rel->rd_rel->relkind != RELKIND_RELATION);
	}
	else if (e->strategy == BULK_STRATEGY_SOURCE)
	{
		/* the batches are block ranges of the source, matched by key */
		Relation	source = relation_open(e->args->source, AccessShareLock);

		/* all of the source: inheritance children and partitions too */
		e->source = bulk_quoted_relname(source);
		e->source_nsp = RelationGetNamespace(source);
		e->source_name = pstrdup(RelationGetRelationName(source));
		e->nbound = 1;
		measure_blocks(e, source, true);
		relation_close(source, NoLock);
	}
	else
	{
		e->nbound = e->key->nkeys;
		e->key_typlen = palloc(sizeof(int16) * e->nbound);
		e->key_typbyval = palloc(sizeof(bool) * e->nbound);
		for (i = 0; i < e->nbound; i++)
			get_typlenbyval(e->key->types[i], &e->key_typlen[i], &e->key_typbyval[i]);
	}

	/*
	 * Parameters: to, from, then the lower and upper bounds, then a job
	 * part's last key.
	 */
	e->has_part_hi = e->key != NULL && e->args->range_hi != NULL;
	e->nparams = PARAM_LOWER + (e->has_part_hi ? 3 : 2) * e->nbound;
	e->argtypes = palloc(sizeof(Oid) * e->nparams);
	e->values = palloc0(sizeof(Datum) * e->nparams);
	e->nulls = palloc(e->nparams);
	memset(e->nulls, 'n', e->nparams);
	e->nulls[PARAM_TO] = e->args->delete_rows ? 'n' : ' ';
	e->nulls[PARAM_FROM] = e->args->any_from ? 'n' : ' ';
	e->argtypes[PARAM_TO] = e->argtypes[PARAM_FROM] = e->status_type;
	e->values[PARAM_TO] = e->to_value;
	e->values[PARAM_FROM] = e->from_value;
	for (i = 0; i < e->nparams - PARAM_LOWER; i++)
		e->argtypes[PARAM_LOWER + i] =
			WALKS_BLOCKS(e) ? TIDOID : e->key->types[i % e->nbound];

	e->has_pos = false;
	e->pos_block = 0;
	e->skipped = false;
	e->retry_pos = NULL;
	e->pass = 1;
	MemoryContextReset(e->pos_cxt[0]);
	MemoryContextReset(e->pos_cxt[1]);
	set_part_bounds(e);
	MemoryContextSwitchTo(e->run_cxt);
}

/* Prepare every statement the current target's batches may run. */
static void
prepare_target(BulkEngine *e)
{
	bool		skip = e->args->skip_locked;
	int			lower;
	int			upper;

	for (lower = 0; lower <= 1; lower++)
	{
		if (e->strategy == BULK_STRATEGY_RANGE)
			(void) get_upper_plan(e, lower);
		for (upper = 0; upper <= 1; upper++)
		{
			if (WALKS_BLOCKS(e) && !(lower && upper))
				continue;
			if (e->strategy == BULK_STRATEGY_LIMIT && upper)
				continue;
			(void) get_update_plan(e, lower, upper, skip);
			if (skip)
				(void) get_exists_plan(e, lower, upper);
		}
		if (skip && e->strategy == BULK_STRATEGY_LIMIT)
			(void) get_exists_plan(e, lower, true);
	}
}

/*
 * Open target relid and make it current; lock it only for the set-up.
 * Returns false if it was dropped (a partition detached and dropped since
 * the run started): there is nothing left to walk there.
 */
static bool
open_target(BulkEngine *e, Oid relid)
{
	Relation	rel;

	/* A leaf may be gone with the named table itself: that is an error. */
	if (relid != e->args->relid)
		lock_named_table(e, AccessShareLock);
	rel = try_relation_open(relid, AccessShareLock);
	if (rel == NULL)
		return false;
	setup_target(e, rel);
	relation_close(rel, AccessShareLock);
	return true;
}

/*
 * Check a source relation against the table: a table whose columns named
 * like the table's key columns have the same types (or types that convert
 * to them without a function), which the caller may read.
 */
static void
check_source(Relation rel, BulkKey *key, const BulkTransitionArgs *args)
{
	Relation	source;
	int			i;

	if (args->strategy != BULK_STRATEGY_AUTO)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("strategy \"%s\" cannot be combined with a source relation",
						bulk_strategy_name(args->strategy)),
				 errdetail("With a source, batches are block ranges of the source.")));
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s\" has no primary key or unique index on NOT NULL columns",
						RelationGetRelationName(rel)),
				 errdetail("A source relation names rows by the table's key.")));
	source = bulk_open_table(args->source, "a source relation");
	for (i = 0; i < key->nkeys; i++)
	{
		const char *name = NameStr(TupleDescAttr(RelationGetDescr(rel),
												 key->attnums[i] - 1)->attname);
		AttrNumber	attnum = get_attnum(args->source, name);
		Oid			type;

		if (attnum <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("source relation \"%s\" has no column \"%s\"",
							RelationGetRelationName(source), name),
					 errdetail("Its columns are matched by name with the key of \"%s\".",
							   RelationGetRelationName(rel))));
		type = TupleDescAttr(RelationGetDescr(source), attnum - 1)->atttypid;
		if (type != key->types[i] && !IsBinaryCoercible(type, key->types[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of source relation \"%s\" has type %s, but the key column has type %s",
							name, RelationGetRelationName(source),
							format_type_be(type), format_type_be(key->types[i]))));
		check_column_privilege(source, attnum, ACL_SELECT);
	}
	relation_close(source, NoLock);
}

/*
 * Whether two status values are equal by the column type's own equality
 * (so '1.0' and '1.00' are equal for numeric, 'a' and 'A' under a
 * case-insensitive collation), falling back to binary equality for types
 * without one.
 */
static bool
status_values_equal(Form_pg_attribute att, Datum a, Datum b)
{
	TypeCacheEntry *tce = lookup_type_cache(att->atttypid, TYPECACHE_EQ_OPR_FINFO);

	if (OidIsValid(tce->eq_opr_finfo.fn_oid))
		return DatumGetBool(FunctionCall2Coll(&tce->eq_opr_finfo,
											  att->attcollation, a, b));
	return datumIsEqual(a, b, att->attbyval, att->attlen);
}

/*
 * Check the arguments against the table, then change every matching row
 * from from_status to to_status, committing after every batch (unless this
 * is a dry run).  The caller must be connected to SPI, non-atomically
 * unless atomic is true.  Returns the rows changed (or, for a dry run,
 * that would change).
 */
int64
bulk_transition_run(BulkTransitionArgs *args, bool atomic)
{
	BulkEngine *e;
	MemoryContext parent;
	MemoryContext caller_cxt = CurrentMemoryContext;
	MemoryContextCallback *cb;
	Relation	rel;
	AttrNumber	status_attnum;
	Form_pg_attribute status_att;
	Oid			typinput;
	Oid			typioparam;
	BulkKey    *key;
	List	   *targets;
	ListCell   *lc;
	int64		result = 0;

	/* The run context must survive the commits between batches. */
	parent = args->run_parent ? args->run_parent :
		(atomic || PortalContext == NULL) ? CurrentMemoryContext : PortalContext;
	e = MemoryContextAllocZero(parent, sizeof(BulkEngine));
	e->run_cxt = AllocSetContextCreate(parent, "bulk_status transition",
									   ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(e->run_cxt);
	e->target_cxt = AllocSetContextCreate(e->run_cxt, "bulk_status target",
										  ALLOCSET_SMALL_SIZES);
	e->batch_cxt = AllocSetContextCreate(e->run_cxt, "bulk_status batch",
										 ALLOCSET_DEFAULT_SIZES);
	e->pos_cxt[0] = AllocSetContextCreate(e->run_cxt, "bulk_status position",
										  ALLOCSET_SMALL_SIZES);
	e->pos_cxt[1] = AllocSetContextCreate(e->run_cxt, "bulk_status position",
										  ALLOCSET_SMALL_SIZES);
	cb = palloc(sizeof(MemoryContextCallback));
	cb->func = bulk_free_plan_callback;
	cb->arg = &e->plans;
	MemoryContextRegisterResetCallback(e->run_cxt, cb);
	e->args = args;
	e->atomic = atomic;
	e->batch_size = args->batch_size;
	if (args->target_batch_ms > 0)
		e->batch_size = Min(Max(e->batch_size, args->min_batch_size),
							args->max_batch_size);
	bulk_throttle_init(&e->throttle, args);
	bulk_stats_start(&e->stats, args->delete_rows ? "purge" :
					 args->any_from ? "stamp" : "transition");
	INSTR_TIME_SET_CURRENT(e->start);
	e->last_progress = e->start;

	/* The table, its status column and the two status values. */
	rel = bulk_open_table(args->relid, "bulk_status.transition");
	e->parent_name = bulk_quoted_relname(rel);
	e->parent_alias = pstrdup(quote_identifier(RelationGetRelationName(rel)));

	status_attnum = get_attnum(args->relid, args->status_column);
	if (status_attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						args->status_column, RelationGetRelationName(rel))));
	if (status_attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot use system column \"%s\" as status column",
						args->status_column)));
	status_att = TupleDescAttr(RelationGetDescr(rel), status_attnum - 1);
	e->status = pstrdup(quote_identifier(args->status_column));
	e->status_type = status_att->atttypid;
	e->status_typmod = status_att->atttypmod;

	/* Status literals become values of the column's type, or fail now. */
	getTypeInputInfo(status_att->atttypid, &typinput, &typioparam);
	if (!args->delete_rows)
		e->to_value = OidInputFunctionCall(typinput, args->to_status,
										   typioparam, status_att->atttypmod);
	if (!args->any_from)
		e->from_value = OidInputFunctionCall(typinput, args->from_status,
											 typioparam, status_att->atttypmod);
	if (!args->any_from && !args->delete_rows &&
		status_values_equal(status_att, e->from_value, e->to_value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_status and to_status must differ"),
				 errdetail("Both are %s for column \"%s\".",
						   quote_literal_cstr(args->from_status), args->status_column)));

	/* Privileges on the named table, before any batch. */
	key = bulk_find_key(rel);
	if (!has_transition_privileges(rel, status_attnum, key, args->delete_rows))
		aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(rel->rd_rel->relkind),
					   RelationGetRelationName(rel));

	bulk_check_filter(rel, args->filter);
	if (OidIsValid(args->source))
	{
		check_source(rel, key, args);
		targets = list_make1_oid(args->relid);
	}
	else
		targets = choose_targets(e, rel);
	relation_close(rel, AccessShareLock);

	/* A part of a job walks every part_count-th of several leaves. */
	if (args->part_count > 1 && list_length(targets) > 1)
	{
		List	   *mine = NIL;
		int			i = 0;

		foreach(lc, targets)
			if (i++ % args->part_count == args->part_index)
				mine = lappend_oid(mine, lfirst_oid(lc));
		targets = mine;
	}

	/*
	 * Settle every target's strategy and prepare its statements now, so that
	 * an error in any of them (a filter that does not fit a leaf, say) comes
	 * before the first batch.
	 */
	foreach(lc, targets)
		if (open_target(e, lfirst_oid(lc)))
		{
			prepare_target(e);
			if (args->validate_only && lc == list_head(targets))
			{
				args->strategy_out = e->strategy;
				args->has_key_out = e->key != NULL;
			}
			if (args->validate_only)
				args->rows_estimated_out += estimated_changes(e);
		}

	if (args->validate_only)
	{
		MemoryContext old = MemoryContextSwitchTo(caller_cxt);

		args->targets_out = list_copy(targets);
		MemoryContextSwitchTo(old);
	}
	else if (args->dry_run)
	{
		int64		batches = 0;
		char	   *stmt = NULL;
		char	   *plan = NULL;

		BulkStrategy first = args->strategy;
		bool		mixed = false;

		foreach(lc, targets)
			if (open_target(e, lfirst_oid(lc)))
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
	}
	else
	{
		const BulkPosition *r = args->resume;
		int			first = 0;

		if (atomic)
			elog(ERROR, "a transition that changes rows needs a non-atomic context");

		/*
		 * A job resumes at the target its position names (if the list of
		 * targets still has it there), skipping those before it.
		 */
		if (r && r->target_index > 0 && r->target_index <= list_length(targets) &&
			(!OidIsValid(r->target) ||
			 (r->target_index < list_length(targets) &&
			  list_nth_oid(targets, r->target_index) == r->target)))
			first = r->target_index;

		for (e->target_index = first; e->target_index < list_length(targets) &&
			 !e->stopped; e->target_index++)
		{
			if (args->driver)
				args->driver->begin(args->driver->arg);
			if (!open_target(e, list_nth_oid(targets, e->target_index)))
				continue;
			apply_resume(e);

			/*
			 * Commit the set-up, so that no lock it took is held through a
			 * pause before the target's first batch: a DDL statement queued
			 * behind such a lock would stall every query on the table.
			 */
			commit(e);
			if (e->pass == 1)
				run_pass(e, args->skip_locked);
			if (e->skipped && !e->stopped)
			{
				/* Now wait for the rows that were locked the first time. */
				if (e->pass == 1)
					rewind_to_skipped(e);
				e->pass = 2;
				run_pass(e, false);
			}
		}
		e->relname = e->parent_name;
		report_progress(e, true);
		result = e->stats.rows;
	}

	bulk_stats_sample(&e->stats, e->run_cxt);
	bulk_stats_finish(&e->stats, e->start);
	MemoryContextSwitchTo(caller_cxt);
	MemoryContextDelete(e->run_cxt);
	pfree(e);
	return result;
}
