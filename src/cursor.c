/*-------------------------------------------------------------------------
 *
 * cursor.c
 *	  Durable named cursors: a keyset position over a table, stored in
 *	  bulk_status.cursor_state, that survives commits, disconnects and
 *	  restarts.
 *
 * cursor_fetch locks the cursor's state row (FOR UPDATE), reads the next
 * rows after the stored position with the caller's privileges, and
 * writes the new position, all in the caller's transaction.  So a consumer
 * whose transaction rolls back reads the same rows again, and a second
 * session fetching from the same cursor waits for the first to finish,
 * then continues after whatever the first committed: no row is handed out
 * twice.
 *
 * The position is kept as the text form of the last key (one element per
 * key column), turned back into values with the key types' input
 * functions, so it does not depend on anything in memory.
 *
 * A cursor opened with parts => n is n rows of cursor_state, one per key
 * range (split from a sample of the keys, bulk_key_boundaries): part i
 * starts with its position at its lower bound and reads up to its upper
 * bound.  Each part's row is locked on its own, so consumers of different
 * parts never wait for each other, and consumers of one part take turns.
 *
 * Security: cursor_state is not accessible to PUBLIC.  The statements on
 * it run as the table's owner (SECURITY_LOCAL_USERID_CHANGE, restricted),
 * are fixed text with parameters only, and run under search_path
 * pg_catalog (bulk_state_execute), so that no caller's schema can put code
 * of its own under them.  A role uses only cursors owned by a role whose
 * privileges it has, and the rows are always read as the cursor's owner,
 * under the search_path it was opened with: the filter is the owner's SQL,
 * so a superuser fetching from another role's cursor must not run it with
 * superuser rights.  Key values are written and read back with fixed
 * output settings (DateStyle, IntervalStyle, extra_float_digits,
 * lc_monetary), so a position means the same key whatever the session's
 * settings.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "bulk_status.h"

/*
 * The statements on the state table differ in their part columns, which
 * SQL objects older than 0.4.0 (between installing this library and ALTER
 * EXTENSION bulk_status UPDATE) do not have: there, every cursor is one
 * part.
 */
typedef struct CursorSql
{
	bool		parts_columns;	/* cursor_state has part, parts, ... */
	const char *owner;			/* "name"'s owner and parts ($1) */
	const char *state;			/* lock and read part $2 of "name" ($1) */
	const char *advance;		/* move part $4 of "name" ($1) to $2, + $3 rows */
	SPIPlanPtr	owner_plan;		/* their plans, prepared once a session */
	SPIPlanPtr	state_plan;
	SPIPlanPtr	advance_plan;
} CursorSql;

static CursorSql cursor_sql[2] = {
	{							/* before 0.4.0 */
		false,
		"SELECT owner, 1 FROM bulk_status.cursor_state WHERE name = $1",
		"SELECT owner, relid, filter, batch_size, key_columns::pg_catalog.text[], position,"
		" search_path, 1, NULL::pg_catalog.text[]"
		" FROM bulk_status.cursor_state WHERE name = $1 AND $2 = 1 FOR UPDATE",
		"UPDATE bulk_status.cursor_state SET position = $2, rows_fetched = rows_fetched + $3,"
		" last_fetch = pg_catalog.now() WHERE name = $1 AND $4 = 1",
		NULL, NULL, NULL
	},
	{
		true,
		"SELECT owner, parts FROM bulk_status.cursor_state WHERE name = $1 AND part = 1",
		"SELECT owner, relid, filter, batch_size, key_columns::pg_catalog.text[], position,"
		" search_path, parts, upper_bound"
		" FROM bulk_status.cursor_state WHERE name = $1 AND part = $2 FOR UPDATE",
		"UPDATE bulk_status.cursor_state SET position = $2, rows_fetched = rows_fetched + $3,"
		" last_fetch = pg_catalog.now() WHERE name = $1 AND part = $4",
		NULL, NULL, NULL
	}
};

/* The statements that fit the extension's SQL objects. */
static CursorSql *
cursor_statements(void)
{
	return &cursor_sql[bulk_state_has_column("cursor_state", "parts") ? 1 : 0];
}

typedef struct CursorState
{
	Oid			owner;
	Oid			relid;
	char	   *filter;
	int			batch_size;
	ArrayType  *key_columns;
	ArrayType  *position;		/* NULL before the first fetch */
	char	   *search_path;	/* the opener's, for the filter */
	int			parts;
	ArrayType  *upper_bound;	/* the part's last key, NULL for no end */
} CursorState;

/*
 * Insist that cursor "name" exists and that the caller may use it, before
 * taking any lock on it; return its number of parts.  cq: the statements
 * (cursor_statements()).
 */
static int
check_cursor_owner(CursorSql *cq, const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	int			parts;

	values[0] = CStringGetTextDatum(name);
	if (bulk_state_execute_kept("cursor_state", &cq->owner_plan, cq->owner,
								1, argtypes, values, NULL, SPI_OK_SELECT) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_CURSOR),
				 errmsg("cursor \"%s\" does not exist", name)));
	if (!has_privs_of_role(GetUserId(),
						   DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
														  SPI_tuptable->tupdesc,
														  1, &isnull))))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of cursor \"%s\"", name)));
	parts = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										2, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return parts;
}

/*
 * The part a fetch reads: "part" as given (NULL: none given), which a
 * cursor in parts needs and any cursor must have.
 */
static int
cursor_part(const char *name, int parts, bool given, int part)
{
	if (!given && parts > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cursor \"%s\" has %d parts", name, parts),
				 errhint("Pass part => 1 to %d, one part for each consumer.", parts)));
	if (!given)
		return 1;
	if (part < 1 || part > parts)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cursor \"%s\" has no part %d", name, part),
				 parts == 1 ? errdetail("It has one part.")
				 : errdetail("It has parts 1 to %d.", parts)));
	return part;
}

/*
 * Lock and read the state of part "part" of cursor "name" (0: lock every
 * part, read the first), insisting that it exists and that the caller may
 * use it.
 */
static CursorState *
lock_cursor(CursorSql *cq, const char *name, int part)
{
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		values[2];
	CursorState *cs;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;

	values[0] = CStringGetTextDatum(name);
	values[1] = Int32GetDatum(Max(part, 1));
	if (part == 0)
		(void) bulk_state_execute("cursor_state", "SELECT FROM bulk_status.cursor_state"
								  " WHERE name = $1 FOR UPDATE",
								  1, argtypes, values, NULL, SPI_OK_SELECT);
	if (bulk_state_execute_kept("cursor_state", &cq->state_plan, cq->state, 2,
								argtypes, values, NULL, SPI_OK_SELECT) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_CURSOR),
				 errmsg("cursor \"%s\" does not exist", name)));

	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	cs = palloc0(sizeof(CursorState));
	cs->owner = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
	cs->relid = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
	d = SPI_getbinval(tup, desc, 3, &isnull);
	cs->filter = isnull ? NULL : TextDatumGetCString(d);
	cs->batch_size = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
	cs->key_columns = DatumGetArrayTypePCopy(SPI_getbinval(tup, desc, 5, &isnull));
	d = SPI_getbinval(tup, desc, 6, &isnull);
	cs->position = isnull ? NULL : DatumGetArrayTypePCopy(d);
	cs->search_path = TextDatumGetCString(SPI_getbinval(tup, desc, 7, &isnull));
	cs->parts = DatumGetInt32(SPI_getbinval(tup, desc, 8, &isnull));
	d = SPI_getbinval(tup, desc, 9, &isnull);
	cs->upper_bound = isnull ? NULL : DatumGetArrayTypePCopy(d);

	/* The name may have changed hands between the check and the lock. */
	if (!has_privs_of_role(GetUserId(), cs->owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of cursor \"%s\"", name)));
	return cs;
}

/* What enter_owner_context() saved. */
typedef struct OwnerContext
{
	Oid			save_userid;
	int			save_sec;
	int			nestlevel;
} OwnerContext;

/*
 * Become the cursor's owner, with its search_path and with output settings
 * that give every key value one text form.  leave_owner_context() undoes
 * it; an error undoes it through (sub)transaction abort.
 */
static void
enter_owner_context(CursorState *cs, OwnerContext *oc)
{
	GetUserIdAndSecContext(&oc->save_userid, &oc->save_sec);
	SetUserIdAndSecContext(cs->owner, oc->save_sec |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	oc->nestlevel = bulk_key_text_settings();
	(void) set_config_option("search_path", cs->search_path, PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

/*
 * Back to the caller's identity and settings.  Settings the owner's code
 * changed meanwhile (even with a plain SET) are thrown away, as PostgreSQL
 * does after running other users' code in maintenance commands: otherwise
 * a filter could leave its search_path in a superuser's session.
 */
static void
leave_owner_context(OwnerContext *oc)
{
	AtEOXact_GUC(false, oc->nestlevel);
	SetUserIdAndSecContext(oc->save_userid, oc->save_sec);
}

/* The key's column names, unquoted, as a text[] for the state table. */
static ArrayType *
key_names_array(Relation rel, BulkKey *key)
{
	char	  **names = palloc(sizeof(char *) * key->nkeys);
	int			i;

	for (i = 0; i < key->nkeys; i++)
		names[i] = NameStr(TupleDescAttr(RelationGetDescr(rel), key->attnums[i] - 1)->attname);
	return DatumGetArrayTypeP(bulk_text_array(names, key->nkeys));
}

/* Whether two one-dimensional text arrays hold the same strings. */
static bool
text_arrays_equal(ArrayType *a, ArrayType *b)
{
	int			na;
	int			nb;
	char	  **ea = bulk_text_array_values(PointerGetDatum(a), &na);
	char	  **eb = bulk_text_array_values(PointerGetDatum(b), &nb);
	int			i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (strcmp(ea[i], eb[i]) != 0)
			return false;
	return true;
}

/* Most parts a cursor may have. */
#define CURSOR_MAX_PARTS	1024

/*
 * The n-1 keys that split the rows of a cursor (those its filter keeps)
 * into n ranges of about equal numbers of rows, read as the caller; a
 * table with fewer rows than n is refused.
 */
static List *
split_keys(Relation rel, BulkKeysetQuery *q, int n)
{
	StringInfoData where;
	List	   *bounds;

	initStringInfo(&where);
	if (q->filter)
		bulk_append_filter(&where, q->filter);
	bounds = bulk_key_boundaries(rel, q->key, q->only, q->filter ? where.data : NULL, n);
	if (list_length(bounds) < n - 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot split relation \"%s\" into %d parts",
						RelationGetRelationName(rel), n),
				 errdetail("Its keys give only %d of the %d split points that %d parts need.",
						   list_length(bounds), n - 1, n),
				 errhint("Open the cursor with fewer parts.")));
	return bounds;
}

/* Insert a row of cursor "name" with sql; a name in use is an error. */
static void
insert_cursor_row(const char *name, const char *sql, int nargs, Oid *argtypes,
				  Datum *values, const char *nulls)
{
	if (bulk_state_execute("cursor_state", sql, nargs, argtypes, values, nulls,
						   SPI_OK_INSERT) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_CURSOR),
				 errmsg("cursor \"%s\" already exists", name)));
}

PG_FUNCTION_INFO_V1(bulk_status_cursor_open);

/* bulk_status.cursor_open(name, rel, filter, batch_size) */
Datum
bulk_status_cursor_open(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *filter;
	int			batch_size;
	int			parts = 1;
	Relation	rel;
	BulkKeysetQuery q;
	List	   *bounds = NIL;
	char	  **lower = NULL;
	int			part;
	Oid			argtypes[11] = {TEXTOID, REGROLEOID, REGCLASSOID, TEXTOID, INT4OID,
	TEXTARRAYOID, TEXTOID, INT4OID, INT4OID, TEXTARRAYOID, TEXTARRAYOID};
	Datum		values[11];
	char		nulls[11] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

	bulk_require_arg(PG_ARGISNULL(0), "name");
	bulk_require_arg(PG_ARGISNULL(1), "rel");
	bulk_require_arg(PG_ARGISNULL(3), "batch_size");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	filter = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	batch_size = PG_GETARG_INT32(3);
	if (batch_size <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be greater than zero")));
	if (PG_NARGS() > 4)
	{
		bulk_require_arg(PG_ARGISNULL(4), "parts");
		parts = PG_GETARG_INT32(4);
		if (parts < 1 || parts > CURSOR_MAX_PARTS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("parts must be between 1 and %d", CURSOR_MAX_PARTS)));
	}

	rel = bulk_open_table(PG_GETARG_OID(1), "bulk_status.cursor_open");
	bulk_check_select_privilege(rel);
	bulk_keyset_query_init(&q, rel, filter, "A cursor");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	bulk_check_filter(rel, filter);
	if (parts > 1)
		bounds = split_keys(rel, &q, parts);

	values[0] = CStringGetTextDatum(name);
	values[1] = ObjectIdGetDatum(GetUserId());
	values[2] = ObjectIdGetDatum(RelationGetRelid(rel));
	values[3] = filter ? CStringGetTextDatum(filter) : (Datum) 0;
	nulls[3] = filter ? ' ' : 'n';
	values[4] = Int32GetDatum(batch_size);
	values[5] = PointerGetDatum(key_names_array(rel, q.key));
	values[6] = CStringGetTextDatum(GetConfigOptionByName("search_path", NULL, false));
	values[8] = Int32GetDatum(parts);
	if (!cursor_statements()->parts_columns)
	{
		/* SQL objects before 0.4.0: one part, no part columns */
		insert_cursor_row(name, "INSERT INTO bulk_status.cursor_state"
						  " (name, owner, relid, filter, batch_size, key_columns, search_path)"
						  " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING",
						  7, argtypes, values, nulls);
		parts = 0;
	}
	for (part = 1; part <= parts; part++)
	{
		char	  **upper = part < parts ? list_nth(bounds, part - 1) : NULL;

		values[7] = Int32GetDatum(part);
		values[9] = lower ? bulk_text_array(lower, q.key->nkeys) : (Datum) 0;
		nulls[9] = lower ? ' ' : 'n';
		values[10] = upper ? bulk_text_array(upper, q.key->nkeys) : (Datum) 0;
		nulls[10] = upper ? ' ' : 'n';
		insert_cursor_row(name, "INSERT INTO bulk_status.cursor_state"
						  " (name, owner, relid, filter, batch_size, key_columns, search_path,"
						  "  part, parts, lower_bound, position, upper_bound)"
						  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)"
						  " ON CONFLICT (name, part) DO NOTHING",
						  11, argtypes, values, nulls);
		lower = upper;
	}
	SPI_finish();

	relation_close(rel, NoLock);
	PG_RETURN_VOID();
}

/* Turn the stored text position back into key values. */
static Datum *
position_values(BulkKey *key, ArrayType *position)
{
	int			n;
	char	  **text = bulk_text_array_values(PointerGetDatum(position), &n);
	Datum	   *values = palloc(sizeof(Datum) * key->nkeys);

	if (n != key->nkeys)
		elog(ERROR, "cursor position has %d values for a key of %d columns",
			 n, key->nkeys);
	bulk_key_from_text(key, text, values);
	return values;
}

/*
 * The rows of a fetch go to the caller in a tuplestore.  PostgreSQL would
 * make it in the statement's memory, which goes back to malloc (and the
 * kernel) after every statement, so that a loop of one fetch a statement
 * would pay for fresh, zeroed pages for every batch.  It is made in a
 * context of the extension's own instead, whose freed chunks are reused by
 * the next fetch.  The executor ends the tuplestore (freeing its rows) when
 * the statement ends; what an error leaves behind is dropped at the end of
 * the transaction (no tuplestore outlives it: a holdable cursor copies its
 * rows out at commit), and so is memory beyond two batches of work_mem.
 */
static MemoryContext fetch_rows_cxt = NULL;

static void
fetch_rows_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			MemoryContextReset(fetch_rows_cxt);
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			if (MemoryContextMemAllocated(fetch_rows_cxt, true) > 2 * (Size) work_mem * 1024)
				MemoryContextReset(fetch_rows_cxt);
			break;
		default:
			break;
	}
}

/* Set up the tuplestore a fetch returns its rows in. */
static void
begin_fetch_rows(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	desc;
	MemoryContext old;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (fetch_rows_cxt == NULL)
	{
		fetch_rows_cxt = AllocSetContextCreate(TopMemoryContext,
											   "bulk_status fetched rows",
											   ALLOCSET_DEFAULT_SIZES);
		RegisterXactCallback(fetch_rows_xact_callback, NULL);
	}
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	rsinfo->setDesc = CreateTupleDescCopy(desc);
	MemoryContextSwitchTo(fetch_rows_cxt);
	rsinfo->setResult = tuplestore_begin_heap((rsinfo->allowedModes & SFRM_Materialize_Random) != 0,
											  false, work_mem);
	MemoryContextSwitchTo(old);
	rsinfo->returnMode = SFRM_Materialize;
}

PG_FUNCTION_INFO_V1(bulk_status_cursor_fetch);

/* bulk_status.cursor_fetch(name, rowtype, max_rows) */
Datum
bulk_status_cursor_fetch(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name;
	CursorState *cs;
	Oid			rowtype;
	Relation	rel;
	BulkKeysetQuery q;
	int64		max_rows;
	char	   *sql;
	uint64		n;
	BulkKeysetBatch batch = {0};
	CursorSql  *cq;
	ArrayType  *bounds[2];
	Datum	   *params;
	Oid		   *types;
	int			nparams = 0;
	int			b;
	int			part;
	Oid			argtypes[4] = {TEXTOID, TEXTARRAYOID, INT8OID, INT4OID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	BulkRunStats stats;
	instr_time	start;
	OwnerContext oc;
	SPIPlanPtr	plan;

	bulk_require_arg(PG_ARGISNULL(0), "name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!PG_ARGISNULL(2) && PG_GETARG_INT32(2) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_rows must be greater than zero")));
	bulk_stats_start(&stats, "cursor_fetch");
	INSTR_TIME_SET_CURRENT(start);

	rowtype = get_fn_expr_argtype(fcinfo->flinfo, 1);
	if (!OidIsValid(get_typ_typrelid(rowtype)))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("rowtype must be the row type of a table"),
				 errdetail("The argument has type %s.", format_type_be(rowtype)),
				 errhint("Pass NULL::tablename.")));
	begin_fetch_rows(fcinfo);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	cq = cursor_statements();

	part = cursor_part(name, check_cursor_owner(cq, name),
					   PG_NARGS() > 3 && !PG_ARGISNULL(3),
					   PG_NARGS() > 3 && !PG_ARGISNULL(3) ? PG_GETARG_INT32(3) : 0);
	cs = lock_cursor(cq, name, part);
	max_rows = PG_ARGISNULL(2) ? cs->batch_size : PG_GETARG_INT32(2);

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(cs->relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation of cursor \"%s\" no longer exists", name),
				 errhint("Close the cursor with bulk_status.cursor_close().")));
	if (get_typ_typrelid(rowtype) != cs->relid)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("row type %s does not match cursor \"%s\"",
						format_type_be(rowtype), name),
				 errdetail("The cursor reads relation %s.",
						   format_type_be(get_rel_type_id(cs->relid))),
				 errhint("Pass NULL::%s.", format_type_be(get_rel_type_id(cs->relid)))));

	/* Read the rows after the position as the cursor's owner. */
	enter_owner_context(cs, &oc);
	rel = bulk_open_rowtype_table(fcinfo, 1, "bulk_status.cursor_fetch");
	bulk_keyset_query_init(&q, rel, cs->filter, "A cursor");
	bulk_check_filter(rel, cs->filter);
	if (!text_arrays_equal(key_names_array(rel, q.key), cs->key_columns))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the key of relation \"%s\" changed since cursor \"%s\" was opened",
						RelationGetRelationName(rel), name),
				 errhint("Close the cursor and open it again.")));

	/* Parameters: the position, then the part's last key, those there are. */
	bounds[0] = cs->position;
	bounds[1] = cs->upper_bound;
	params = palloc(sizeof(Datum) * 2 * q.key->nkeys);
	types = palloc(sizeof(Oid) * 2 * q.key->nkeys);
	for (b = 0; b < 2; b++)
	{
		if (bounds[b] == NULL)
			continue;
		memcpy(params + nparams, position_values(q.key, bounds[b]),
			   sizeof(Datum) * q.key->nkeys);
		memcpy(types + nparams, q.key->types, sizeof(Oid) * q.key->nkeys);
		nparams += q.key->nkeys;
	}
	sql = bulk_keyset_query_sql(&q, cs->position != NULL, cs->upper_bound != NULL, max_rows);
	/*
	 * A generic plan cannot know how many rows lie between a part's
	 * position and its upper bound: it guesses few, and would then sort the
	 * whole rest of the part (a bitmap scan) for every fetch.  The custom
	 * plan sees the bounds, and walks the key's index.
	 */
	plan = SPI_prepare_cursor(sql, nparams, types,
							  cs->upper_bound ? CURSOR_OPT_CUSTOM_PLAN : CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	batch.store = rsinfo->setResult;
	n = bulk_keyset_query_run(&q, plan, params, nparams, &batch);

	/* Advance the position in the caller's transaction. */
	values[0] = CStringGetTextDatum(name);
	if (n > 0)
		values[1] = bulk_text_array(bulk_key_to_text(q.key, q.last_key), q.key->nkeys);
	else if (cs->position)
		values[1] = PointerGetDatum(cs->position);
	else
		nulls[1] = 'n';
	leave_owner_context(&oc);
	values[2] = Int64GetDatum((int64) n);
	values[3] = Int32GetDatum(part);
	bulk_state_execute_kept("cursor_state", &cq->advance_plan, cq->advance, 4,
							argtypes, values, nulls, SPI_OK_UPDATE);

	stats.rows = n;
	stats.batches = 1;
	bulk_stats_sample(&stats, CurrentMemoryContext);
	SPI_finish();
	relation_close(rel, NoLock);
	bulk_stats_finish(&stats, start);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(bulk_status_cursor_close);

/* bulk_status.cursor_close(name) */
Datum
bulk_status_cursor_close(PG_FUNCTION_ARGS)
{
	char	   *name;
	CursorSql  *cq;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];

	bulk_require_arg(PG_ARGISNULL(0), "name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	cq = cursor_statements();
	(void) check_cursor_owner(cq, name);
	(void) lock_cursor(cq, name, 0);
	values[0] = CStringGetTextDatum(name);
	bulk_state_execute("cursor_state", "DELETE FROM bulk_status.cursor_state WHERE name = $1",
				  1, argtypes, values, NULL, SPI_OK_DELETE);
	SPI_finish();
	PG_RETURN_VOID();
}
