/*-------------------------------------------------------------------------
 *
 * target.c
 *	  What a run walks, and how: the table the caller named and every check
 *	  made before the first batch (status column and values, privileges,
 *	  filter, source), the relations walked one after the other (the table,
 *	  or the leaves of a partitioned table), and for each of them its key,
 *	  its strategy (auto's choice from the planner's estimates, refreshing
 *	  stale statistics), its blocks, its parameters and its prepared
 *	  statements; and the per-batch lock that makes sure a target is still
 *	  the relation the run started on.
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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/objectaddress.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "parser/parse_coerce.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/partcache.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "compat.h"
#include "engine.h"

/*
 * Strategy auto picks limit below this share of matching rows: measured on
 * 1M rows, limit took half the time of range at 5%, and twice its time at
 * 98%.
 */
#define SPARSE_SHARE	0.10

/* Statistics are not trusted once this share of rows changed since. */
#define STALE_SHARE		0.10

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
bool
bulk_lock_target(BulkEngine *e)
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
 * Count the blocks of relid, or of each of its partitions or children (the
 * longest one bounds a block walk: a batch covers the same block range in
 * each), and size a block batch from the tuple density that the last
 * VACUUM or ANALYZE recorded.
 */
static void
measure_blocks(BulkEngine *e, Oid relid, bool with_children)
{
	BulkBlocks	b;
	double		per_page;

	bulk_count_blocks(relid, with_children, &b);
	e->nblocks = b.nblocks;

	/*
	 * Divide by the number of children that have blocks.  Without
	 * statistics, estimate the row width from the column types.
	 */
	if (b.pages > 0)
		per_page = b.tuples / b.pages;
	else
	{
		Relation	rel = relation_open(relid, NoLock);
		TupleDesc	desc = RelationGetDescr(rel);
		double		width = MAXALIGN(SizeofHeapTupleHeader) + sizeof(ItemIdData);
		int			i;

		for (i = 0; i < desc->natts; i++)
			if (!TupleDescAttr(desc, i)->attisdropped)
				width += get_typavgwidth(TupleDescAttr(desc, i)->atttypid,
										 TupleDescAttr(desc, i)->atttypmod);
		relation_close(rel, NoLock);
		per_page = (BLCKSZ - SizeOfPageHeaderData) / width;
	}
	e->rows_per_block = Max(per_page, 1.0) * Max(b.nonempty, 1);
	e->blocks_per_batch = (BlockNumber) Max(1.0, e->batch_size / e->rows_per_block);
}

/*
 * The blocks of relid (and, with_children, of every relation that inherits
 * from it): the most any one of them has, how many have any, and the rows
 * and pages their last VACUUM or ANALYZE counted.
 */
void
bulk_count_blocks(Oid relid, bool with_children, BulkBlocks *b)
{
	List	   *rels = with_children ?
		find_all_inheritors(relid, AccessShareLock, NULL) : list_make1_oid(relid);
	ListCell   *lc;

	memset(b, 0, sizeof(BulkBlocks));
	foreach(lc, rels)
	{
		Relation	child = relation_open(lfirst_oid(lc), NoLock);

		if (RELKIND_HAS_STORAGE(child->rd_rel->relkind))
		{
			BlockNumber n = RelationGetNumberOfBlocks(child);

			b->nblocks = Max(b->nblocks, n);
			if (n > 0)
				b->nonempty++;
			if (child->rd_rel->reltuples > 0 && child->rd_rel->relpages > 0)
			{
				b->tuples += child->rd_rel->reltuples;
				b->pages += child->rd_rel->relpages;
			}
		}
		relation_close(child, NoLock);
	}
	list_free(rels);
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
	appendStringInfoString(&sql, " WHERE ");
	bulk_append_status_literal(&sql, e->alias, e->status, "=", e->args->from_status,
							   e->status_type, e->status_typmod);
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
double
bulk_estimated_changes(BulkEngine *e)
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
 * The strategy of the current target: the caller's, "source" with a source
 * relation, or auto's choice: ctid without a key, limit when the planner
 * expects few rows to match (not for a purge), else range.
 */
static BulkStrategy
choose_strategy(BulkEngine *e, Relation rel, bool refreshed)
{
	if (OidIsValid(e->args->source))
		return BULK_STRATEGY_SOURCE;
	if (e->args->strategy != BULK_STRATEGY_AUTO)
		return e->args->strategy;
	if (e->key == NULL)
		return BULK_STRATEGY_CTID;
	if (!e->args->delete_rows && looks_sparse(e, rel, refreshed))
		return BULK_STRATEGY_LIMIT;
	return BULK_STRATEGY_RANGE;
}

/*
 * Size the batch statements' parameters: to, from, then the lower and
 * upper bounds, then a job part's last key.
 */
static void
size_parameters(BulkEngine *e)
{
	int			i;

	e->has_part_hi = e->key != NULL && e->args->part.range_hi != NULL;
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
}

/*
 * Name the current target in the statements: a leaf is aliased with the
 * named table's name, so that a filter naming the table ("files.size >
 * 0") works on every leaf.
 */
static void
name_target(BulkEngine *e, Relation rel)
{
	e->relname = bulk_quoted_relname(rel);
	e->target = rel->rd_rel->relkind == RELKIND_RELATION ?
		psprintf("ONLY %s", e->relname) : e->relname;
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

	bulk_forget_all_plans(e);
	MemoryContextReset(e->target_cxt);
	MemoryContextSwitchTo(e->target_cxt);

	name_target(e, rel);
	if (has_change_rules(e, rel))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot change rows of \"%s\" in batches because it has %s rules",
						RelationGetRelationName(rel),
						e->args->delete_rows ? "DELETE" : "UPDATE"),
				 errdetail("A rule would rewrite each batch into other statements.")));
	e->key = bulk_find_key(rel);
	refreshed = refresh_stale_stats(e, rel);
	e->strategy = choose_strategy(e, rel, refreshed);
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
		measure_blocks(e, RelationGetRelid(rel), rel->rd_rel->relkind != RELKIND_RELATION);
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
		measure_blocks(e, e->args->source, true);
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
	size_parameters(e);
	bulk_reset_position(e);
	MemoryContextSwitchTo(e->run_cxt);
	if (!e->atomic && !e->args->dry_run)
		bulk_vacuum_target(e, rel);
}

/* Prepare every statement the current target's batches may run. */
void
bulk_prepare_target(BulkEngine *e)
{
	bool		skip = e->args->skip_locked;
	int			lower;
	int			upper;

	for (lower = 0; lower <= 1; lower++)
	{
		if (e->strategy == BULK_STRATEGY_RANGE)
			(void) bulk_plan(e, BULK_STMT_UPPER, lower, false, false);
		for (upper = 0; upper <= 1; upper++)
		{
			if (WALKS_BLOCKS(e) && !(lower && upper))
				continue;
			if (e->strategy == BULK_STRATEGY_LIMIT && upper)
				continue;
			(void) bulk_plan(e, BULK_STMT_CHANGE, lower, upper, skip);
			if (skip)
				(void) bulk_plan(e, BULK_STMT_EXISTS, lower, upper, false);
		}
		if (skip && e->strategy == BULK_STRATEGY_LIMIT)
			(void) bulk_plan(e, BULK_STMT_EXISTS, lower, true, false);
	}
}

/*
 * Open target relid and make it current; lock it only for the set-up.
 * Returns false if it was dropped (a partition detached and dropped since
 * the run started): there is nothing left to walk there.
 */
bool
bulk_open_target(BulkEngine *e, Oid relid)
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
 * Check the run's arguments against the table before anything else: the
 * status column and the two status values (of the column's type), the
 * caller's privileges, the filter, the source; then return the relations
 * to walk, one after the other (a job part's share of them when a job's
 * parts deal out several).  Sets the engine's table-wide fields.
 */
List *
bulk_check_run(BulkEngine *e)
{
	BulkTransitionArgs *args = e->args;
	Relation	rel;
	AttrNumber	status_attnum;
	Form_pg_attribute status_att;
	Oid			typinput;
	Oid			typioparam;
	BulkKey    *key;
	List	   *targets;

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

	/* A part of a job walks every part.count-th of several leaves. */
	if (args->part.count > 1 && list_length(targets) > 1)
	{
		List	   *mine = NIL;
		ListCell   *lc;
		int			i = 0;

		foreach(lc, targets)
			if (i++ % args->part.count == args->part.index)
				mine = lappend_oid(mine, lfirst_oid(lc));
		targets = mine;
	}
	return targets;
}
