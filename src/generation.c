/*-------------------------------------------------------------------------
 *
 * generation.c
 *	  Generations of a sync cycle: a numbered run, begun, then ended, kept
 *	  in bulk_status.generation_state.
 *
 * A generation-based cycle stamps the rows a sync run sees with the run's
 * generation (bulk_status.stamp, or the sync client's own writes) and then
 * changes the rows whose stamp is older (a transition with a filter on the
 * stamp), instead of rewriting every row in a prepare pass.  These
 * functions number the runs durably:
 *
 *	generation_begin(cycle)		the next generation, or, while the last one
 *								never ended (a crashed or cancelled run), the
 *								same one again, so that the run resumes
 *	generation_end(cycle, g)	g is done
 *	current_generation(cycle)	the running (else the last) generation, for
 *								the DEFAULT of the stamp column, so that rows
 *								inserted during a run carry its stamp
 *
 * The state table is not accessible to PUBLIC: statements on it run as its
 * owner (bulk_state_execute), and a role uses only cycles owned by a role
 * whose privileges it has.  current_generation() answers anyone: a
 * generation number is no secret, and any role inserting rows needs it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "bulk_status.h"

#define STATE_TABLE "generation_state"

/*
 * Lock and read cycle's row: its owner, generation and whether it runs.
 * Returns false if there is none.
 */
static bool
lock_cycle(const char *cycle, Oid *owner, int64 *generation, bool *running)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;

	values[0] = CStringGetTextDatum(cycle);
	if (bulk_state_execute(STATE_TABLE,
						   "SELECT owner, generation, running FROM bulk_status.generation_state"
						   " WHERE cycle = $1 FOR UPDATE",
						   1, argtypes, values, NULL, SPI_OK_SELECT) == 0)
		return false;
	*owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*generation = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	*running = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	if (!has_privs_of_role(GetUserId(), *owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of sync cycle \"%s\"", cycle)));
	return true;
}

PG_FUNCTION_INFO_V1(bulk_status_generation_begin);

/* bulk_status.generation_begin(cycle) */
Datum
bulk_status_generation_begin(PG_FUNCTION_ARGS)
{
	char	   *cycle;
	Oid			owner;
	int64		generation;
	bool		running;
	Oid			argtypes[3] = {TEXTOID, INT8OID, REGROLEOID};
	Datum		values[3];

	bulk_require_arg(PG_ARGISNULL(0), "cycle");
	cycle = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	values[0] = CStringGetTextDatum(cycle);
	if (!lock_cycle(cycle, &owner, &generation, &running))
	{
		generation = 1;
		values[1] = Int64GetDatum(generation);
		values[2] = ObjectIdGetDatum(GetUserId());
		/* a concurrent first begin makes this fail on the primary key */
		bulk_state_execute(STATE_TABLE,
						   "INSERT INTO bulk_status.generation_state"
						   " (cycle, generation, owner, running, started)"
						   " VALUES ($1, $2, $3, true, pg_catalog.now())",
						   3, argtypes, values, NULL, SPI_OK_INSERT);
	}
	else if (running)
		ereport(NOTICE,
				(errmsg("resuming generation " INT64_FORMAT " of sync cycle \"%s\", which did not end",
						generation, cycle),
				 errhint("Run the cycle's steps again for this generation; each can be repeated.")));
	else
	{
		generation++;
		values[1] = Int64GetDatum(generation);
		bulk_state_execute(STATE_TABLE,
						   "UPDATE bulk_status.generation_state"
						   " SET generation = $2, running = true,"
						   " started = pg_catalog.now(), finished = NULL"
						   " WHERE cycle = $1",
						   2, argtypes, values, NULL, SPI_OK_UPDATE);
	}
	SPI_finish();
	PG_RETURN_INT64(generation);
}

PG_FUNCTION_INFO_V1(bulk_status_generation_end);

/* bulk_status.generation_end(cycle, generation) */
Datum
bulk_status_generation_end(PG_FUNCTION_ARGS)
{
	char	   *cycle;
	int64		ending;
	Oid			owner;
	int64		generation;
	bool		running;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];

	bulk_require_arg(PG_ARGISNULL(0), "cycle");
	bulk_require_arg(PG_ARGISNULL(1), "generation");
	cycle = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ending = PG_GETARG_INT64(1);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (!lock_cycle(cycle, &owner, &generation, &running))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("sync cycle \"%s\" does not exist", cycle)));
	if (!running || generation != ending)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("generation " INT64_FORMAT " of sync cycle \"%s\" is not running",
						ending, cycle),
				 running ?
				 errdetail("The running generation is " INT64_FORMAT ".", generation) :
				 errdetail("No generation is running; the last one was " INT64_FORMAT ".",
						   generation)));
	values[0] = CStringGetTextDatum(cycle);
	bulk_state_execute(STATE_TABLE,
					   "UPDATE bulk_status.generation_state"
					   " SET running = false, finished = pg_catalog.now()"
					   " WHERE cycle = $1",
					   1, argtypes, values, NULL, SPI_OK_UPDATE);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * current_generation() is a column DEFAULT, called once per inserted row;
 * being STABLE, it may answer the same within one statement.  It keeps its
 * last answer in fn_extra, which lives as long as the statement's
 * expression does, for the command and subtransaction it was given in, so
 * that a COPY of a million rows asks the state table once and the next
 * statement asks again.
 */
typedef struct GenerationCache
{
	CommandId	cid;
	SubTransactionId subxid;
	int64		generation;
	char		cycle[FLEXIBLE_ARRAY_MEMBER];
} GenerationCache;

PG_FUNCTION_INFO_V1(bulk_status_current_generation);

/* bulk_status.current_generation(cycle): 0 before the first generation. */
Datum
bulk_status_current_generation(PG_FUNCTION_ARGS)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	int64		generation = 0;
	bool		isnull;
	char	   *cycle = text_to_cstring(PG_GETARG_TEXT_PP(0));
	CommandId	cid = GetCurrentCommandId(false);
	SubTransactionId subxid = GetCurrentSubTransactionId();
	GenerationCache *cache = (GenerationCache *) fcinfo->flinfo->fn_extra;

	if (cache && cache->cid == cid && cache->subxid == subxid &&
		strcmp(cache->cycle, cycle) == 0)
		PG_RETURN_INT64(cache->generation);

	values[0] = PG_GETARG_DATUM(0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (bulk_state_execute(STATE_TABLE,
						   "SELECT generation FROM bulk_status.generation_state"
						   " WHERE cycle = $1",
						   1, argtypes, values, NULL, SPI_OK_SELECT) > 0)
		generation = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												 SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();

	if (cache == NULL || strcmp(cache->cycle, cycle) != 0)
	{
		if (cache)
			pfree(cache);
		cache = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt,
								   offsetof(GenerationCache, cycle) + strlen(cycle) + 1);
		strcpy(cache->cycle, cycle);
		fcinfo->flinfo->fn_extra = cache;
	}
	cache->cid = cid;
	cache->subxid = subxid;
	cache->generation = generation;
	PG_RETURN_INT64(generation);
}
