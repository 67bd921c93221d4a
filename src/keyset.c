/*-------------------------------------------------------------------------
 *
 * keyset.c
 *	  What every driver needs to know about a relation before it builds
 *	  keyset SQL: that it is a table, which key orders it, which privileges
 *	  the caller has, and that a user filter is one boolean expression.
 *
 * All SQL built here quotes identifiers with quote_identifier(); values
 * always travel as SPI parameters, never as text pasted into a statement.
 * A user filter is the one piece of caller-supplied SQL: it runs with the
 * caller's privileges, and bulk_check_filter() proves that it parses as a
 * single expression, so that wrapping it in parentheses cannot let it
 * close the WHERE clause and change the batch bounds around it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/array.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "bulk_status.h"

/* Complain, in PostgreSQL style, about a NULL required argument. */
void
bulk_require_arg(bool isnull, const char *argname)
{
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", argname)));
}

/* Name a relkind for the detail of a wrong-object-type error. */
static const char *
relkind_noun(char relkind)
{
	switch (relkind)
	{
		case RELKIND_VIEW:
			return "a view";
		case RELKIND_MATVIEW:
			return "a materialized view";
		case RELKIND_SEQUENCE:
			return "a sequence";
		case RELKIND_FOREIGN_TABLE:
			return "a foreign table";
		case RELKIND_INDEX:
		case RELKIND_PARTITIONED_INDEX:
			return "an index";
		case RELKIND_COMPOSITE_TYPE:
			return "a composite type";
		case RELKIND_TOASTVALUE:
			return "a TOAST table";
		default:
			return "not a table";
	}
}

/*
 * Open relid with AccessShareLock, insisting on an ordinary or partitioned
 * table.  "what" names the function for the error detail.
 */
Relation
bulk_open_table(Oid relid, const char *what)
{
	Relation	rel;

	rel = try_relation_open(relid, AccessShareLock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));

	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", RelationGetRelationName(rel)),
				 errdetail("\"%s\" is %s; %s works on tables and partitioned tables.",
						   RelationGetRelationName(rel),
						   relkind_noun(rel->rd_rel->relkind), what)));
	return rel;
}

/* The schema-qualified, quoted name of rel. */
char *
bulk_quoted_relname(Relation rel)
{
	return quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
									  RelationGetRelationName(rel));
}

/* The access method of a relation. */
static Oid
relation_am(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			relam;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	relam = ((Form_pg_class) GETSTRUCT(tup))->relam;
	ReleaseSysCache(tup);
	return relam;
}

/*
 * If indexoid can order and identify every row of rel, return its number of
 * key columns; otherwise return 0.
 */
static int
usable_key_columns(Relation rel, Oid indexoid, bool require_unique)
{
	HeapTuple	tup;
	Form_pg_index idx;
	int			nkeys = 0;

	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for index %u", indexoid);
	idx = (Form_pg_index) GETSTRUCT(tup);

	if ((!require_unique || idx->indisunique) &&
		idx->indimmediate && idx->indisvalid &&
		heap_attisnull(tup, Anum_pg_index_indpred, NULL) &&
		heap_attisnull(tup, Anum_pg_index_indexprs, NULL) &&
		relation_am(indexoid) == BTREE_AM_OID)
	{
		int			i;

		bool		isnull;
		oidvector  *indclass;
		oidvector  *indcollation;

		indclass = (oidvector *) DatumGetPointer(SysCacheGetAttr(INDEXRELID, tup,
																 Anum_pg_index_indclass,
																 &isnull));
		indcollation = (oidvector *) DatumGetPointer(SysCacheGetAttr(INDEXRELID, tup,
																	 Anum_pg_index_indcollation,
																	 &isnull));
		nkeys = idx->indnkeyatts;
		for (i = 0; i < idx->indnkeyatts; i++)
		{
			AttrNumber	attnum = idx->indkey.values[i];
			Form_pg_attribute att;

			/*
			 * The batch statements order and compare the key with the
			 * column's own collation and its type's default btree operators;
			 * an index that orders otherwise cannot serve them (and, with a
			 * nondeterministic collation, could disagree with them).
			 */
			if (attnum <= 0)
			{
				nkeys = 0;
				break;
			}
			att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
			if (!att->attnotnull ||
				indcollation->values[i] != att->attcollation ||
				indclass->values[i] != GetDefaultOpClass(att->atttypid, BTREE_AM_OID))
			{
				nkeys = 0;
				break;
			}
		}
	}
	ReleaseSysCache(tup);
	return nkeys;
}

/*
 * Find the key rel is walked by, or NULL if it has none: the primary key,
 * else the unique index on NOT NULL columns with the fewest columns (lowest
 * OID on a tie, so the choice is stable).  Only indexes with the columns'
 * own collations and default btree operator classes qualify.
 */
BulkKey *
bulk_find_key(Relation rel)
{
	List	   *indexes = RelationGetIndexList(rel);
	Oid			best = InvalidOid;
	int			best_nkeys = 0;
	ListCell   *lc;
	BulkKey    *key;
	HeapTuple	tup;
	Form_pg_index idx;
	int			i;

	if (OidIsValid(rel->rd_pkindex) &&
		usable_key_columns(rel, rel->rd_pkindex, true) > 0)
		best = rel->rd_pkindex;
	else
	{
		foreach(lc, indexes)
		{
			Oid			indexoid = lfirst_oid(lc);
			int			n = usable_key_columns(rel, indexoid, true);

			if (n > 0 && (best_nkeys == 0 || n < best_nkeys ||
						  (n == best_nkeys && indexoid < best)))
			{
				best = indexoid;
				best_nkeys = n;
			}
		}
	}
	list_free(indexes);

	if (!OidIsValid(best))
		return NULL;

	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(best));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for index %u", best);
	idx = (Form_pg_index) GETSTRUCT(tup);

	key = palloc(sizeof(BulkKey));
	key->nkeys = idx->indnkeyatts;
	key->attnums = palloc(sizeof(AttrNumber) * key->nkeys);
	key->names = palloc(sizeof(char *) * key->nkeys);
	key->types = palloc(sizeof(Oid) * key->nkeys);
	key->collations = palloc(sizeof(Oid) * key->nkeys);
	for (i = 0; i < key->nkeys; i++)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel),
											  idx->indkey.values[i] - 1);

		key->attnums[i] = att->attnum;
		key->names[i] = pstrdup(quote_identifier(NameStr(att->attname)));
		key->types[i] = att->atttypid;
		key->collations[i] = att->attcollation;
	}
	ReleaseSysCache(tup);
	return key;
}

/*
 * Insist that the caller may read every column of rel, as SELECT * would.
 * Checking here, before any batch, gives the error before any work is done.
 */
void
bulk_check_select_privilege(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);

	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK &&
		pg_attribute_aclcheck_all(relid, GetUserId(), ACL_SELECT,
								  ACLMASK_ALL) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV,
					   get_relkind_objtype(rel->rd_rel->relkind),
					   RelationGetRelationName(rel));
}

/* State for filter_error_callback. */
typedef struct FilterErrorArg
{
	const char *query;			/* the statement the filter was parsed in */
	int			offset;			/* where the filter starts in it */
} FilterErrorArg;

/* Point a syntax error's cursor at the filter, not at the caller's query. */
static void
filter_error_callback(void *arg)
{
	FilterErrorArg *fe = (FilterErrorArg *) arg;
	int			pos = geterrposition();

	if (pos > fe->offset)
	{
		errposition(0);
		internalerrposition(pos - fe->offset);
		internalerrquery(fe->query + fe->offset);
	}
	else
		errcontext("bulk_status filter: %s", fe->query + fe->offset);
}

/*
 * Check that filter is a single boolean expression over rel's columns: it
 * must parse alone as the WHERE clause of an otherwise empty SELECT, and
 * then type-check against rel.
 */
void
bulk_check_filter(Relation rel, const char *filter)
{
	static const char prefix[] = "SELECT WHERE ";
	StringInfoData sql;
	ErrorContextCallback errcb;
	FilterErrorArg fe;
	List	   *raw;
	SelectStmt *stmt = NULL;

	if (filter == NULL)
		return;

	initStringInfo(&sql);
	appendStringInfo(&sql, "%s%s", prefix, filter);

	fe.query = sql.data;
	fe.offset = sizeof(prefix) - 1;
	errcb.callback = filter_error_callback;
	errcb.arg = &fe;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	raw = raw_parser(sql.data, RAW_PARSE_DEFAULT);

	error_context_stack = errcb.previous;

	if (list_length(raw) == 1 &&
		IsA(linitial_node(RawStmt, raw)->stmt, SelectStmt))
		stmt = (SelectStmt *) linitial_node(RawStmt, raw)->stmt;

	if (stmt == NULL || stmt->op != SETOP_NONE || stmt->whereClause == NULL ||
		stmt->targetList != NIL || stmt->fromClause != NIL ||
		stmt->intoClause != NULL || stmt->distinctClause != NIL ||
		stmt->groupClause != NIL || stmt->havingClause != NULL ||
		stmt->windowClause != NIL || stmt->valuesLists != NIL ||
		stmt->sortClause != NIL || stmt->limitOffset != NULL ||
		stmt->limitCount != NULL || stmt->lockingClause != NIL ||
		stmt->withClause != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("filter must be a single boolean expression"),
				 errdetail("The filter is used as a WHERE condition; it cannot end that condition, add clauses or add statements.")));

	/* Type-check it against the table, with the caller's privileges. */
	resetStringInfo(&sql);
	appendStringInfo(&sql, "SELECT FROM %s WHERE ", bulk_quoted_relname(rel));
	bulk_append_filter(&sql, filter);
	SPI_freeplan(bulk_prepare(sql.data, 0, NULL));
	pfree(sql.data);
}

/*
 * Append a checked filter as a parenthesised condition.  The line break
 * ends any trailing "--" comment inside the filter.
 */
void
bulk_append_filter(StringInfo buf, const char *filter)
{
	appendStringInfo(buf, "(%s\n)", filter);
}

/* Append "alias.k1, alias.k2" (with DESC after each if descending). */
void
bulk_append_key_list(StringInfo buf, BulkKey *key, const char *alias,
					 bool descending)
{
	int			i;

	for (i = 0; i < key->nkeys; i++)
		appendStringInfo(buf, "%s%s%s%s%s",
						 i > 0 ? ", " : "",
						 alias ? alias : "", alias ? "." : "",
						 key->names[i],
						 descending ? " DESC" : "");
}

/*
 * Append a comparison of the key with parameters $first_param...: "k > $1"
 * for one column, the row comparison "(k1, k2) > ($1, $2)" for several,
 * which a btree index on (k1, k2) serves directly.
 */
void
bulk_append_key_cmp(StringInfo buf, BulkKey *key, const char *alias,
					const char *op, int first_param)
{
	int			i;

	if (key->nkeys == 1)
	{
		appendStringInfo(buf, "%s%s%s %s $%d",
						 alias ? alias : "", alias ? "." : "",
						 key->names[0], op, first_param);
		return;
	}
	appendStringInfoChar(buf, '(');
	bulk_append_key_list(buf, key, alias, false);
	appendStringInfo(buf, ") %s (", op);
	for (i = 0; i < key->nkeys; i++)
		appendStringInfo(buf, "%s$%d", i > 0 ? ", " : "", first_param + i);
	appendStringInfoChar(buf, ')');
}

/*
 * Prepare a statement and keep the plan for the rest of the run.  Errors
 * in it come from PostgreSQL's parser and planner with the usual codes.
 */
SPIPlanPtr
bulk_prepare(const char *sql, int nargs, Oid *argtypes)
{
	return bulk_prepare_opts(sql, nargs, argtypes, 0);
}

/*
 * bulk_prepare() with cursor options: CURSOR_OPT_GENERIC_PLAN for keyset
 * reads, whose ordered key-index scan is right whatever the position (a
 * custom plan near the end of a table switched to a bitmap scan and a
 * sort that spilled to disk).
 */
SPIPlanPtr
bulk_prepare_opts(const char *sql, int nargs, Oid *argtypes, int options)
{
	MemoryContext cxt = CurrentMemoryContext;
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, options);

	/* SPI leaves its own procedure context current: back to the caller's */
	MemoryContextSwitchTo(cxt);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s",
			 sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

/*
 * Memory-context reset callback that frees a List of kept plans, so that
 * plans go away with the run's context, on error as on success.
 */
void
bulk_free_plan_callback(void *arg)
{
	List	  **plans = (List **) arg;
	ListCell   *lc;

	foreach(lc, *plans)
		SPI_freeplan((SPIPlanPtr) lfirst(lc));
	*plans = NIL;
}

/* The owner of the state table bulk_status.<table>. */
static Oid
state_table_owner(const char *table)
{
	Oid			nsp = get_namespace_oid("bulk_status", false);
	Oid			relid = get_relname_relid(table, nsp);
	HeapTuple	tup;
	Oid			owner;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "bulk_status.%s is missing", table);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Whether the state table bulk_status.<table> has a column: the library
 * may be newer than the extension's objects (between installing a new
 * version and ALTER EXTENSION bulk_status UPDATE), and must then leave the
 * columns of later versions alone.
 */
bool
bulk_state_has_column(const char *table, const char *column)
{
	Oid			nsp = get_namespace_oid("bulk_status", false);
	Oid			relid = get_relname_relid(table, nsp);

	return OidIsValid(relid) && get_attnum(relid, column) != InvalidAttrNumber;
}

/*
 * Run one fixed statement on the state table bulk_status.<table> as that
 * table's owner, and return SPI_processed.  This is the one way the
 * extension writes and reads its own tables (cursors, generations, jobs).
 * The state tables are not accessible to PUBLIC; callers check ownership
 * of the rows themselves.  The statement runs with search_path set to
 * pg_catalog, pg_temp, so that no caller's schema can put an operator or
 * function under it.  An error restores the caller's identity and settings
 * through (sub)transaction abort, as for any SECURITY_LOCAL_USERID_CHANGE.
 */
uint64
bulk_state_execute(const char *table, const char *sql, int nargs,
				   Oid *argtypes, Datum *values, const char *nulls,
				   int expected)
{
	return bulk_state_execute_kept(table, NULL, sql, nargs, argtypes, values,
								   nulls, expected);
}

/*
 * The same, for a statement run often (a cursor's, at every fetch): with
 * kept, the plan is prepared once into *kept and kept for the session
 * (PostgreSQL's plan cache replans it if the state table changes).
 */
uint64
bulk_state_execute_kept(const char *table, SPIPlanPtr *kept, const char *sql,
						int nargs, Oid *argtypes, Datum *values,
						const char *nulls, int expected)
{
	Oid			save_userid;
	int			save_sec;
	int			rc;
	int			level;
	MemoryContext cxt = CurrentMemoryContext;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(state_table_owner(table),
						   save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	level = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	if (kept == NULL)
		rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, false, 0);
	else
	{
		if (*kept == NULL)
		{
			SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

			if (plan == NULL || SPI_keepplan(plan) != 0)
				elog(ERROR, "could not prepare a statement on bulk_status.%s: %s",
					 table, SPI_result_code_string(SPI_result));
			*kept = plan;
		}
		rc = SPI_execute_plan(*kept, values, nulls, false, 0);
	}
	MemoryContextSwitchTo(cxt);
	AtEOXact_GUC(false, level);
	SetUserIdAndSecContext(save_userid, save_sec);
	if (rc != expected)
		elog(ERROR, "statement on bulk_status.%s failed: %s",
			 table, SPI_result_code_string(rc));
	return SPI_processed;
}

/*
 * Append a test of a status column against a literal of its type:
 * "alias.column op 'value'::type" (alias may be NULL); column is quoted.
 * The literal (not a parameter) lets the planner use the column's most
 * common values.
 */
void
bulk_append_status_literal(StringInfo buf, const char *alias, const char *column,
						   const char *op, const char *value, Oid type, int32 typmod)
{
	appendStringInfo(buf, "%s%s%s %s %s::%s", alias ? alias : "", alias ? "." : "",
					 column, op, quote_literal_cstr(value),
					 format_type_extended(type, typmod,
										  FORMAT_TYPE_TYPEMOD_GIVEN |
										  FORMAT_TYPE_FORCE_QUALIFY));
}

/* A text[] of n strings, or a null Datum for NULL. */
Datum
bulk_text_array(char **values, int n)
{
	Datum	   *elems;
	int			i;

	if (values == NULL)
		return (Datum) 0;
	elems = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(values[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* The strings of a text[] (in the current memory context), and how many. */
char **
bulk_text_array_values(Datum array, int *n)
{
	Datum	   *elems;
	char	  **values;
	int			i;

	deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, NULL, n);
	values = palloc(sizeof(char *) * *n);
	for (i = 0; i < *n; i++)
		values[i] = TextDatumGetCString(elems[i]);
	return values;
}

/*
 * Key values from their text forms (one per key column), into the current
 * memory context, and back: the stored form of positions and part bounds,
 * written under bulk_key_text_settings().
 */
void
bulk_key_from_text(BulkKey *key, char **text, Datum *values)
{
	int			i;

	for (i = 0; i < key->nkeys; i++)
	{
		Oid			typinput;
		Oid			typioparam;

		getTypeInputInfo(key->types[i], &typinput, &typioparam);
		values[i] = OidInputFunctionCall(typinput, text[i], typioparam, -1);
	}
}

char **
bulk_key_to_text(BulkKey *key, Datum *values)
{
	char	  **text = palloc(sizeof(char *) * key->nkeys);
	int			i;

	for (i = 0; i < key->nkeys; i++)
	{
		Oid			typoutput;
		bool		isvarlena;

		getTypeOutputInfo(key->types[i], &typoutput, &isvarlena);
		text[i] = OidOutputFunctionCall(typoutput, values[i]);
	}
	return text;
}

/*
 * Enter a GUC nest level with output settings that give every key value
 * one text form, whatever the session's: positions and part bounds are
 * stored as text and read back elsewhere (another session, a background
 * worker).  timestamptz output carries its offset, so TimeZone does not
 * matter.  Leave it with AtEOXact_GUC(false, level); an error leaves it
 * through (sub)transaction abort.
 */
int
bulk_key_text_settings(void)
{
	int			level = NewGUCNestLevel();

	bulk_set_key_text_settings(GUC_ACTION_SAVE);
	return level;
}

/*
 * Apply those settings with the given action: GUC_ACTION_SAVE within a
 * nest level, or GUC_ACTION_SET for the rest of a session (a job worker's).
 */
void
bulk_set_key_text_settings(GucAction action)
{
	(void) set_config_option("DateStyle", "ISO, YMD", PGC_USERSET,
							 PGC_S_SESSION, action, true, 0, false);
	(void) set_config_option("IntervalStyle", "postgres", PGC_USERSET,
							 PGC_S_SESSION, action, true, 0, false);
	(void) set_config_option("extra_float_digits", "3", PGC_USERSET,
							 PGC_S_SESSION, action, true, 0, false);
	(void) set_config_option("lc_monetary", "C", PGC_USERSET,
							 PGC_S_SESSION, action, true, 0, false);
}

/*
 * Enter a GUC nest level with JIT off, for a statement the engine runs
 * batch after batch: JIT compiles anew on every execution, and a batch
 * statement on a large table costs enough to pass jit_above_cost, so each
 * batch would pay a compilation (and the backend's memory would grow with
 * LLVM's).  bulk_jit_restore() leaves the level; an error leaves it
 * through (sub)transaction abort.
 */
int
bulk_jit_off(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/*
 * Leave the nest level bulk_jit_off() entered: jit goes back to what it
 * was, while settings that the statement's own code (a trigger, a function
 * in a filter) made with SET or set_config() stay, as they would after an
 * ordinary statement.
 */
void
bulk_jit_restore(int level)
{
	AtEOXact_GUC(true, level);
}

/*
 * Keys sampled to split a table into key ranges.  TABLESAMPLE SYSTEM takes
 * whole blocks, whose rows often have neighbouring keys, so the sample is
 * worth about as many keys as it has blocks: 100,000 rows of ~50 a block
 * put a boundary within a few per cent of its place, for about 2,000 block
 * reads and a sort of 100,000 keys.
 */
#define BOUNDARY_SAMPLE_ROWS	100000

/*
 * Split the keys of rel's rows that satisfy "where" (SQL over its columns;
 * NULL for every row; ONLY rel with only) into at most n ranges of about
 * equal numbers of rows, from a sample of them (TABLESAMPLE SYSTEM, or the
 * whole table when the sample has fewer than n rows): returns the n-1 (or
 * fewer, when the rows are fewer or keys repeat) boundary keys in text
 * form, sorted; range i holds the keys after boundary i-1 up to boundary i.
 * Needs SPI to be connected.
 */
List *
bulk_key_boundaries(Relation rel, BulkKey *key, bool only, const char *where, int n)
{
	char	   *relname = bulk_quoted_relname(rel);
	double		total = bulk_estimated_rows(psprintf("SELECT FROM %s%s", only ? "ONLY " : "",
													 relname));
	double		percent = total > BOUNDARY_SAMPLE_ROWS ? 100.0 * BOUNDARY_SAMPLE_ROWS / total : 100.0;
	List	   *bounds = NIL;
	char	   *last = NULL;
	uint64		m;
	int			level;
	int			i;
	int			k;

	level = bulk_key_text_settings();
	/* room to sort the sample in memory (its keys, ~100,000 of them) */
	(void) set_config_option("work_mem", "65536", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	for (;;)
	{
		StringInfoData sql;

		initStringInfo(&sql);
		appendStringInfoString(&sql, "SELECT ");
		for (k = 0; k < key->nkeys; k++)
			appendStringInfo(&sql, "%s%s::pg_catalog.text AS bulk_status_k%d",
							 k > 0 ? ", " : "", key->names[k], k);
		appendStringInfo(&sql, " FROM %s%s", only ? "ONLY " : "", relname);
		if (percent < 100.0)
			appendStringInfo(&sql, " TABLESAMPLE SYSTEM (%g)", Max(percent, 0.0001));
		if (where)
			appendStringInfo(&sql, " WHERE %s", where);
		appendStringInfoString(&sql, " ORDER BY ");
		bulk_append_key_list(&sql, key, NULL, false);
		if (SPI_execute(sql.data, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not sample the keys of %s", relname);
		m = SPI_processed;
		if (m >= (uint64) n || percent >= 100.0)
			break;
		percent = 100.0;		/* the estimate was far off: read them all */
	}
	for (i = 1; i < n && m > 0; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[(uint64) i * m / n];
		char	  **values = palloc(sizeof(char *) * key->nkeys);
		StringInfoData whole;

		initStringInfo(&whole);
		for (k = 0; k < key->nkeys; k++)
		{
			values[k] = SPI_getvalue(tup, SPI_tuptable->tupdesc, k + 1);
			appendStringInfo(&whole, "%s%s", quote_literal_cstr(values[k]), ",");
		}
		if (last && strcmp(last, whole.data) == 0)
			continue;			/* a repeated key: one range fewer */
		last = whole.data;
		bounds = lappend(bounds, values);
	}
	AtEOXact_GUC(false, level);
	return bounds;
}
