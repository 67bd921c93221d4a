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
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "bulk_status.h"

/* The state table's columns as cursor_fetch reads them. */
#define STATE_SELECT \
	"SELECT owner, relid, filter, batch_size, key_columns::pg_catalog.text[], position," \
	" search_path" \
	" FROM bulk_status.cursor_state WHERE name = $1 FOR UPDATE"

typedef struct CursorState
{
	Oid			owner;
	Oid			relid;
	char	   *filter;
	int			batch_size;
	ArrayType  *key_columns;
	ArrayType  *position;		/* NULL before the first fetch */
	char	   *search_path;	/* the opener's, for the filter */
} CursorState;

/*
 * Insist that cursor "name" exists and that the caller may use it, before
 * taking any lock on it.
 */
static void
check_cursor_owner(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;

	values[0] = CStringGetTextDatum(name);
	if (bulk_state_execute("cursor_state", "SELECT owner FROM bulk_status.cursor_state"
					  " WHERE name = $1",
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
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Lock and read the state of cursor "name", insisting that it exists and
 * that the caller may use it.
 */
static CursorState *
lock_cursor(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	CursorState *cs;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;

	check_cursor_owner(name);
	values[0] = CStringGetTextDatum(name);
	if (bulk_state_execute("cursor_state", STATE_SELECT, 1, argtypes, values, NULL, SPI_OK_SELECT) == 0)
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

PG_FUNCTION_INFO_V1(bulk_status_cursor_open);

/* bulk_status.cursor_open(name, rel, filter, batch_size) */
Datum
bulk_status_cursor_open(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *filter;
	int			batch_size;
	Relation	rel;
	BulkKeysetQuery q;
	Oid			argtypes[7] = {TEXTOID, REGROLEOID, REGCLASSOID, TEXTOID, INT4OID,
	TEXTARRAYOID, TEXTOID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};

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

	rel = bulk_open_table(PG_GETARG_OID(1), "bulk_status.cursor_open");
	bulk_check_select_privilege(rel);
	bulk_keyset_query_init(&q, rel, filter, "A cursor");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	bulk_check_filter(rel, filter);

	values[0] = CStringGetTextDatum(name);
	values[1] = ObjectIdGetDatum(GetUserId());
	values[2] = ObjectIdGetDatum(RelationGetRelid(rel));
	values[3] = filter ? CStringGetTextDatum(filter) : (Datum) 0;
	nulls[3] = filter ? ' ' : 'n';
	values[4] = Int32GetDatum(batch_size);
	values[5] = PointerGetDatum(key_names_array(rel, q.key));
	values[6] = CStringGetTextDatum(GetConfigOptionByName("search_path", NULL, false));
	if (bulk_state_execute("cursor_state", "INSERT INTO bulk_status.cursor_state"
					  " (name, owner, relid, filter, batch_size, key_columns, search_path)"
					  " VALUES ($1, $2, $3, $4, $5, $6, $7)"
					  " ON CONFLICT (name) DO NOTHING",
					  7, argtypes, values, nulls, SPI_OK_INSERT) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_CURSOR),
				 errmsg("cursor \"%s\" already exists", name)));
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

/* The text position for the key of result row i. */
static ArrayType *
position_array(BulkKeysetQuery *q, uint64 i)
{
	Datum	   *key = palloc(sizeof(Datum) * q->key->nkeys);

	bulk_keyset_query_key(q, i, key);
	return DatumGetArrayTypeP(bulk_text_array(bulk_key_to_text(q->key, key),
											  q->key->nkeys));
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
	uint64		i;
	Datum	   *pos = NULL;
	Oid			argtypes[3] = {TEXTOID, TEXTARRAYOID, INT8OID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	BulkRunStats stats;
	instr_time	start;
	OwnerContext oc;
	SPIPlanPtr	plan;
	int			jit;

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
	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	cs = lock_cursor(name);
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

	if (cs->position)
		pos = position_values(q.key, cs->position);
	sql = bulk_keyset_query_sql(&q, pos != NULL, max_rows);
	plan = SPI_prepare_cursor(sql, pos ? q.key->nkeys : 0, q.key->types,
							  CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	jit = bulk_jit_off();
	if (SPI_execute_plan(plan, pos, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "cursor fetch failed");
	bulk_jit_restore(jit);
	n = SPI_processed;
	for (i = 0; i < n; i++)
	{
		bulk_keyset_query_fill(&q, i);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, q.values, q.isnull);
	}

	/* Advance the position in the caller's transaction. */
	values[0] = CStringGetTextDatum(name);
	if (n > 0)
		values[1] = PointerGetDatum(position_array(&q, n - 1));
	else if (cs->position)
		values[1] = PointerGetDatum(cs->position);
	else
		nulls[1] = 'n';
	leave_owner_context(&oc);
	values[2] = Int64GetDatum((int64) n);
	bulk_state_execute("cursor_state", "UPDATE bulk_status.cursor_state"
				  " SET position = $2,"
				  " rows_fetched = rows_fetched + $3,"
				  " last_fetch = pg_catalog.now()"
				  " WHERE name = $1",
				  3, argtypes, values, nulls, SPI_OK_UPDATE);

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
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];

	bulk_require_arg(PG_ARGISNULL(0), "name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	(void) lock_cursor(name);
	values[0] = CStringGetTextDatum(name);
	bulk_state_execute("cursor_state", "DELETE FROM bulk_status.cursor_state WHERE name = $1",
				  1, argtypes, values, NULL, SPI_OK_DELETE);
	SPI_finish();
	PG_RETURN_VOID();
}
