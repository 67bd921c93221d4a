/*-------------------------------------------------------------------------
 *
 * scan.c
 *	  bulk_status.scan(NULL::tbl, filter, batch_size): every row of a table
 *	  in key order, batch_size rows at a time, in constant memory.
 *
 * A value-per-call set-returning function.  The first call prepares two
 * statements (first batch; batch after a position) and keeps them.  Each
 * time the rows in hand run out, it connects to SPI, runs the next batch
 *
 *	SELECT cols FROM tbl WHERE key > $pos AND (filter) ORDER BY key LIMIT n
 *
 * copies the rows as composite datums into batch_cxt (reset before every
 * batch) and the last key into pos_cxt (reset before every batch), and
 * disconnects.  Each batch takes a fresh snapshot, as any statement of a
 * READ COMMITTED transaction does: rows committed by others ahead of the
 * position appear, rows deleted before the scan reaches them do not.  A
 * row is returned at most once unless a concurrent UPDATE moves its key
 * from behind the position to ahead of it (then it is seen again), and a
 * row whose key moves the other way is not seen at all.
 *
 * The rows stream only when scan() is called in the select list
 * (SELECT bulk_status.scan(...)); in FROM, PostgreSQL collects the whole
 * result of any set-returning function before returning its first row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/pg_class.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/typcache.h"

#include "bulk_status.h"

typedef struct BulkScan
{
	BulkKeysetQuery q;			/* statements and row shape */
	MemoryContext scan_cxt;		/* parent of the two below */
	MemoryContext batch_cxt;	/* the rows of the batch in hand */
	MemoryContext pos_cxt;		/* the last key returned */
	List	   *plans;			/* kept plans, freed with scan_cxt */
	SPIPlanPtr	first_plan;
	SPIPlanPtr	next_plan;
	Datum	   *pos;
	bool		has_pos;
	Datum	   *rows;			/* the batch in hand, in batch_cxt */
	uint64		nrows;
	uint64		next;
	bool		last_batch;
	instr_time	start;
	BulkRunStats stats;
} BulkScan;

/*
 * Find the table whose row type is the type of argument argno, open it,
 * and check that it is a table with a key that the caller may read.
 */
Relation
bulk_open_rowtype_table(FunctionCallInfo fcinfo, int argno, const char *what)
{
	Oid			typid = get_fn_expr_argtype(fcinfo->flinfo, argno);
	Oid			relid = OidIsValid(typid) ? get_typ_typrelid(typid) : InvalidOid;
	Relation	rel;

	/* a standalone composite type (CREATE TYPE ... AS) is no table's */
	if (OidIsValid(relid) && get_rel_relkind(relid) == RELKIND_COMPOSITE_TYPE)
		relid = InvalidOid;
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("rowtype must be the row type of a table"),
				 errdetail("The argument has type %s.", format_type_be(typid)),
				 errhint("Pass NULL::tablename.")));
	rel = bulk_open_table(relid, what);
	bulk_check_select_privilege(rel);
	return rel;
}

/*
 * Build the keyset statements over rel: "SELECT cols FROM rel WHERE
 * [key > $1...] AND (filter) ORDER BY key LIMIT $n", with one parameter
 * per key column.  Plain tables are read ONLY, as transitions change them
 * ONLY: an inheritance parent's key is not unique across its children.
 */
void
bulk_keyset_query_init(BulkKeysetQuery *q, Relation rel, const char *filter,
					   const char *what)
{
	TupleDesc	desc = RelationGetDescr(rel);
	StringInfoData cols;
	int			i;
	int			ncols = 0;

	q->key = bulk_find_key(rel);
	if (q->key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s\" has no primary key or unique index on NOT NULL columns",
						RelationGetRelationName(rel)),
				 errdetail("%s reads a table in key order.", what),
				 errhint("Add a primary key to the table.")));
	q->relid = RelationGetRelid(rel);
	q->relname = bulk_quoted_relname(rel);
	q->only = rel->rd_rel->relkind == RELKIND_RELATION;
	q->filter = filter ? pstrdup(filter) : NULL;
	q->rowdesc = CreateTupleDescCopy(desc);
	q->rowdesc->tdtypeid = rel->rd_rel->reltype;
	q->rowdesc->tdtypmod = -1;
	q->natts = desc->natts;
	q->src_col = palloc(sizeof(int) * desc->natts);
	q->key_col = palloc(sizeof(int) * q->key->nkeys);
	q->key_typlen = palloc(sizeof(int16) * q->key->nkeys);
	q->key_typbyval = palloc(sizeof(bool) * q->key->nkeys);

	/* The select list: every live column, in order. */
	initStringInfo(&cols);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		int			k;

		if (att->attisdropped)
		{
			q->src_col[i] = 0;
			continue;
		}
		q->src_col[i] = ++ncols;
		appendStringInfo(&cols, "%s%s", ncols > 1 ? ", " : "",
						 quote_identifier(NameStr(att->attname)));
		for (k = 0; k < q->key->nkeys; k++)
			if (q->key->attnums[k] == att->attnum)
				q->key_col[k] = ncols;
	}
	for (i = 0; i < q->key->nkeys; i++)
		get_typlenbyval(q->key->types[i], &q->key_typlen[i], &q->key_typbyval[i]);
	q->columns = cols.data;
	q->values = palloc(sizeof(Datum) * desc->natts);
	q->isnull = palloc(sizeof(bool) * desc->natts);
}

/* The keyset statement, after a position ($1...) or from the start. */
char *
bulk_keyset_query_sql(BulkKeysetQuery *q, bool after_pos, int64 limit)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s FROM %s%s WHERE true",
					 q->columns, q->only ? "ONLY " : "", q->relname);
	if (after_pos)
	{
		appendStringInfoString(&sql, " AND ");
		bulk_append_key_cmp(&sql, q->key, NULL, ">", 1);
	}
	if (q->filter)
	{
		appendStringInfoString(&sql, " AND ");
		bulk_append_filter(&sql, q->filter);
	}
	appendStringInfoString(&sql, " ORDER BY ");
	bulk_append_key_list(&sql, q->key, NULL, false);
	appendStringInfo(&sql, " LIMIT " INT64_FORMAT, limit);
	return sql.data;
}

/* Fill q->values and q->isnull from result row i of SPI_tuptable. */
void
bulk_keyset_query_fill(BulkKeysetQuery *q, uint64 i)
{
	HeapTuple	src = SPI_tuptable->vals[i];
	TupleDesc	srcdesc = SPI_tuptable->tupdesc;
	int			a;

	for (a = 0; a < q->natts; a++)
	{
		if (q->src_col[a] == 0)
		{
			q->values[a] = (Datum) 0;
			q->isnull[a] = true;
		}
		else
			q->values[a] = SPI_getbinval(src, srcdesc, q->src_col[a], &q->isnull[a]);
	}
}

/* Turn result row i of SPI_tuptable into a composite datum of the row type. */
static Datum
keyset_query_row(BulkKeysetQuery *q, uint64 i)
{
	bulk_keyset_query_fill(q, i);
	return HeapTupleGetDatum(heap_form_tuple(q->rowdesc, q->values, q->isnull));
}

/* Copy the key of result row i into the current memory context. */
void
bulk_keyset_query_key(BulkKeysetQuery *q, uint64 i, Datum *key)
{
	int			k;

	for (k = 0; k < q->key->nkeys; k++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
									  q->key_col[k], &isnull);

		key[k] = datumCopy(d, q->key_typbyval[k], q->key_typlen[k]);
	}
}

/* Read the next batch into st->rows; the previous batch is forgotten. */
static void
fetch_batch(BulkScan *st, int batch_size)
{
	int			nkeys = st->q.key->nkeys;
	uint64		i;
	int			jit;
	MemoryContext old;

	MemoryContextReset(st->batch_cxt);
	old = MemoryContextSwitchTo(st->batch_cxt);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	jit = bulk_jit_off();
	if (SPI_execute_plan(st->has_pos ? st->next_plan : st->first_plan,
						 st->pos, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "scan batch failed");
	bulk_jit_restore(jit);

	st->nrows = SPI_processed;
	st->next = 0;
	st->last_batch = SPI_processed < (uint64) batch_size;

	MemoryContextSwitchTo(st->batch_cxt);
	st->rows = palloc(sizeof(Datum) * Max(st->nrows, 1));
	for (i = 0; i < st->nrows; i++)
		st->rows[i] = keyset_query_row(&st->q, i);

	if (st->nrows > 0)
	{
		MemoryContextReset(st->pos_cxt);
		MemoryContextSwitchTo(st->pos_cxt);
		st->pos = palloc(sizeof(Datum) * nkeys);
		bulk_keyset_query_key(&st->q, st->nrows - 1, st->pos);
		st->has_pos = true;
	}
	SPI_finish();
	MemoryContextSwitchTo(old);

	st->stats.batches++;
	st->stats.rows += st->nrows;
	bulk_stats_sample(&st->stats, st->scan_cxt);
	bulk_stats_finish(&st->stats, st->start);
}

/* Prepare the scan on the first call. */
static BulkScan *
scan_start(FunctionCallInfo fcinfo, MemoryContext fn_cxt)
{
	BulkScan  *st;
	Relation	rel;
	char	   *filter = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	int			batch_size = PG_GETARG_INT32(2);
	MemoryContextCallback *cb;
	MemoryContext old;

	st = palloc0(sizeof(BulkScan));
	st->scan_cxt = AllocSetContextCreate(fn_cxt, "bulk_status scan",
										 ALLOCSET_DEFAULT_SIZES);
	st->batch_cxt = AllocSetContextCreate(st->scan_cxt, "bulk_status batch",
										  ALLOCSET_DEFAULT_SIZES);
	st->pos_cxt = AllocSetContextCreate(st->scan_cxt, "bulk_status position",
										ALLOCSET_SMALL_SIZES);
	cb = palloc(sizeof(MemoryContextCallback));
	cb->func = bulk_free_plan_callback;
	cb->arg = &st->plans;
	MemoryContextRegisterResetCallback(st->scan_cxt, cb);
	bulk_stats_start(&st->stats, "scan");
	INSTR_TIME_SET_CURRENT(st->start);

	rel = bulk_open_rowtype_table(fcinfo, 0, "bulk_status.scan");
	bulk_keyset_query_init(&st->q, rel, filter, "bulk_status.scan");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	bulk_check_filter(rel, filter);
	st->first_plan = bulk_prepare_opts(bulk_keyset_query_sql(&st->q, false, batch_size),
									   0, NULL, CURSOR_OPT_GENERIC_PLAN);
	st->next_plan = bulk_prepare_opts(bulk_keyset_query_sql(&st->q, true, batch_size),
									  st->q.key->nkeys, st->q.key->types,
									  CURSOR_OPT_GENERIC_PLAN);
	SPI_finish();

	/* The plan list belongs to scan_cxt, whose deletion frees the plans. */
	old = MemoryContextSwitchTo(st->scan_cxt);
	st->plans = list_make2(st->first_plan, st->next_plan);
	MemoryContextSwitchTo(old);

	relation_close(rel, NoLock);
	return st;
}

PG_FUNCTION_INFO_V1(bulk_status_scan);

/* bulk_status.scan(rowtype, filter, batch_size) */
Datum
bulk_status_scan(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	BulkScan  *st;
	int			batch_size;

	bulk_require_arg(PG_ARGISNULL(2), "batch_size");
	batch_size = PG_GETARG_INT32(2);
	if (batch_size <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be greater than zero")));

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		funcctx->user_fctx = scan_start(fcinfo, funcctx->multi_call_memory_ctx);
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	st = (BulkScan *) funcctx->user_fctx;

	if (st->next >= st->nrows && !(st->last_batch && st->stats.batches > 0))
		fetch_batch(st, batch_size);

	if (st->next < st->nrows)
		SRF_RETURN_NEXT(funcctx, st->rows[st->next++]);

	SRF_RETURN_DONE(funcctx);
}
