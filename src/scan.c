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
#include "executor/tuptable.h"
#include "nodes/params.h"
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
	BulkKeysetBatch batch;		/* the rows in hand, in batch_cxt */
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
	q->direct = ncols == desc->natts;
	q->values = palloc(sizeof(Datum) * desc->natts);
	q->isnull = palloc(sizeof(bool) * desc->natts);
	q->cxt = CurrentMemoryContext;
	q->last_key = palloc(sizeof(Datum) * q->key->nkeys);
	q->keybuf = NULL;
	q->keybuf_size = 0;
}

/*
 * The keyset statement, after a position ($1...) or from the start, and
 * with upper, only up to a last key (the parameters after the position's).
 */
char *
bulk_keyset_query_sql(BulkKeysetQuery *q, bool after_pos, bool upper, int64 limit)
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
	if (upper)
	{
		appendStringInfoString(&sql, " AND ");
		bulk_append_key_cmp(&sql, q->key, NULL, "<=",
							after_pos ? q->key->nkeys + 1 : 1);
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

/*
 * The receiver of a keyset statement's rows: each row goes straight from
 * the executor's slot to the batch, with one copy (no SPI tuple table in
 * between), and its key is kept, overwriting the previous row's.
 */
typedef struct KeysetDest
{
	DestReceiver pub;
	BulkKeysetQuery *q;
	BulkKeysetBatch *batch;
} KeysetDest;

/* Keep the key of the row in slot in q->last_key (by-reference values in q->keybuf). */
static void
keep_key(BulkKeysetQuery *q, TupleTableSlot *slot)
{
	int			nkeys = q->key->nkeys;
	Size		need = 0;
	Size		off = 0;
	int			k;

	for (k = 0; k < nkeys; k++)
	{
		bool		isnull;

		q->last_key[k] = slot_getattr(slot, q->key_col[k], &isnull);
		if (!q->key_typbyval[k])
			need += MAXALIGN(datumGetSize(q->last_key[k], false, q->key_typlen[k]));
	}
	if (need > q->keybuf_size)
	{
		if (q->keybuf)
			pfree(q->keybuf);
		q->keybuf_size = Max(need, 2 * q->keybuf_size);
		q->keybuf = MemoryContextAlloc(q->cxt, q->keybuf_size);
	}
	for (k = 0; k < nkeys; k++)
	{
		Size		len;

		if (q->key_typbyval[k])
			continue;
		len = datumGetSize(q->last_key[k], false, q->key_typlen[k]);
		memcpy(q->keybuf + off, DatumGetPointer(q->last_key[k]), len);
		q->last_key[k] = PointerGetDatum(q->keybuf + off);
		off += MAXALIGN(len);
	}
}

/* Put the row in slot into the batch. */
static bool
keyset_receive(TupleTableSlot *slot, DestReceiver *self)
{
	KeysetDest *d = (KeysetDest *) self;
	BulkKeysetQuery *q = d->q;
	BulkKeysetBatch *b = d->batch;
	HeapTuple	tuple = NULL;
	bool		should_free = false;

	/*
	 * A stored row laid out as the row type, with all its attributes (a row
	 * older than an ADD COLUMN has fewer, whose values come from the
	 * catalog), is copied as it is; any other is formed from its values.
	 */
	if (q->direct)
	{
		tuple = ExecFetchSlotHeapTuple(slot, false, &should_free);
		if (HeapTupleHeaderGetNatts(tuple->t_data) != q->natts)
		{
			if (should_free)
				heap_freetuple(tuple);
			tuple = NULL;
			should_free = false;
		}
	}
	if (tuple == NULL)
	{
		int			a;

		slot_getallattrs(slot);
		for (a = 0; a < q->natts; a++)
		{
			int			c = q->src_col[a];

			q->values[a] = c ? slot->tts_values[c - 1] : (Datum) 0;
			q->isnull[a] = c ? slot->tts_isnull[c - 1] : true;
		}
	}

	if (b->store)
	{
		if (tuple)
			tuplestore_puttuple(b->store, tuple);
		else
			tuplestore_putvalues(b->store, q->rowdesc, q->values, q->isnull);
	}
	else
	{
		MemoryContext old = MemoryContextSwitchTo(b->row_cxt);

		if (b->nrows >= b->capacity)
		{
			b->capacity *= 2;
			b->rows = repalloc(b->rows, sizeof(Datum) * b->capacity);
		}
		if (tuple)
			b->rows[b->nrows] = heap_copy_tuple_as_datum(tuple, q->rowdesc);
		else
			b->rows[b->nrows] = HeapTupleGetDatum(heap_form_tuple(q->rowdesc, q->values,
																 q->isnull));
		MemoryContextSwitchTo(old);
	}
	if (should_free)
		heap_freetuple(tuple);
	keep_key(q, slot);
	b->nrows++;
	return true;
}

static void
keyset_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
keyset_shutdown(DestReceiver *self)
{
}

static void
keyset_destroy(DestReceiver *self)
{
}

/*
 * Run a keyset statement with its parameters (the position, then the last
 * key, as bulk_keyset_query_sql() numbered them) into batch, which it
 * empties first.  Returns the number of rows; q->last_key holds the last
 * row's key until the next run.  Needs SPI to be connected.
 */
uint64
bulk_keyset_query_run(BulkKeysetQuery *q, SPIPlanPtr plan, Datum *params,
					  int nparams, BulkKeysetBatch *batch)
{
	KeysetDest	dest;
	SPIExecuteOptions options;
	int			jit;
	int			i;
	int			rc;

	memset(&dest, 0, sizeof(dest));
	dest.pub.receiveSlot = keyset_receive;
	dest.pub.rStartup = keyset_startup;
	dest.pub.rShutdown = keyset_shutdown;
	dest.pub.rDestroy = keyset_destroy;
	dest.pub.mydest = DestNone;
	dest.q = q;
	dest.batch = batch;
	batch->nrows = 0;

	memset(&options, 0, sizeof(options));
	if (nparams > 0)
	{
		options.params = makeParamList(nparams);
		for (i = 0; i < nparams; i++)
		{
			ParamExternData *prm = &options.params->params[i];

			prm->value = params[i];
			prm->isnull = false;
			prm->pflags = PARAM_FLAG_CONST;
			prm->ptype = SPI_getargtypeid(plan, i);
		}
	}
	options.dest = &dest.pub;

	jit = bulk_jit_off();
	rc = SPI_execute_plan_extended(plan, &options);
	bulk_jit_restore(jit);
	if (rc < 0)
		elog(ERROR, "keyset read failed: %s", SPI_result_code_string(rc));
	return batch->nrows;
}

/*
 * After the first batch, make batch_cxt one block big enough for a batch
 * like it, which a reset keeps: otherwise every batch would get its memory
 * from malloc and give it back, and the kernel would hand out (and zero)
 * fresh pages for every batch.  The array of rows stays in scan_cxt.
 */
static void
size_batch_cxt(BulkScan *st)
{
	Size		used;

	if (st->stats.batches != 1)
		return;
	used = MemoryContextMemAllocated(st->batch_cxt, false);
	used = MAXALIGN(used + used / 4);
	if (used > 256 * 1024 * 1024)
		return;					/* rows this wide: blocks as they come */
	MemoryContextDelete(st->batch_cxt);
	st->batch_cxt = AllocSetContextCreate(st->scan_cxt, "bulk_status batch",
										  used, ALLOCSET_DEFAULT_INITSIZE,
										  Max(used, ALLOCSET_DEFAULT_MAXSIZE));
}

/* Read the next batch into st->batch; the previous batch is forgotten. */
static void
fetch_batch(BulkScan *st, int batch_size)
{
	int			nkeys = st->q.key->nkeys;
	uint64		n;
	int			k;
	MemoryContext old;

	size_batch_cxt(st);
	MemoryContextReset(st->batch_cxt);
	st->batch.row_cxt = st->batch_cxt;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	n = bulk_keyset_query_run(&st->q, st->has_pos ? st->next_plan : st->first_plan,
							  st->pos, st->has_pos ? nkeys : 0, &st->batch);
	SPI_finish();

	st->next = 0;
	st->last_batch = n < (uint64) batch_size;
	if (n > 0)
	{
		MemoryContextReset(st->pos_cxt);
		old = MemoryContextSwitchTo(st->pos_cxt);
		st->pos = palloc(sizeof(Datum) * nkeys);
		for (k = 0; k < nkeys; k++)
			st->pos[k] = datumCopy(st->q.last_key[k], st->q.key_typbyval[k],
								   st->q.key_typlen[k]);
		st->has_pos = true;
		MemoryContextSwitchTo(old);
	}

	st->stats.batches++;
	st->stats.rows += n;
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
	st->batch.capacity = Min(batch_size, 1024);
	st->batch.rows = MemoryContextAlloc(st->scan_cxt, sizeof(Datum) * st->batch.capacity);
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
	st->first_plan = bulk_prepare_opts(bulk_keyset_query_sql(&st->q, false, false, batch_size),
									   0, NULL, CURSOR_OPT_GENERIC_PLAN);
	st->next_plan = bulk_prepare_opts(bulk_keyset_query_sql(&st->q, true, false, batch_size),
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

	if (st->next >= st->batch.nrows && !(st->last_batch && st->stats.batches > 0))
		fetch_batch(st, batch_size);

	if (st->next < st->batch.nrows)
		SRF_RETURN_NEXT(funcctx, st->batch.rows[st->next++]);

	SRF_RETURN_DONE(funcctx);
}
