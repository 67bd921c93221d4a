/*-------------------------------------------------------------------------
 *
 * bulk_status.c
 *	  Module entry point, GUCs, and the figures of the session's last run.
 *
 * Every scan, cursor fetch and transition records what it did in
 * bulk_last_run: rows, batches, elapsed time, and two memory peaks sampled
 * after every batch: the engine's own contexts (which must not grow with
 * the number of batches) and the whole backend's context tree.
 * bulk_status.last_run() shows them; the constant-memory tests read them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "bulk_status.h"
#include "compat.h"

BULK_MODULE_MAGIC;

/* Milliseconds between progress NOTICEs of a transition; 0 disables them. */
int			bulk_status_progress_interval = 10000;

/* The session's last run; kind is NULL until something ran. */
BulkRunStats bulk_last_run;

void		_PG_init(void);

/* Define the GUCs. */
void
_PG_init(void)
{
	DefineCustomIntVariable("bulk_status.progress_interval",
							"Sets the interval between progress messages of a transition.",
							"A transition reports its progress as a NOTICE at most this often. "
							"Zero disables progress messages.",
							&bulk_status_progress_interval,
							10000, 0, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	bulk_jobs_init();
	MarkGUCPrefixReserved("bulk_status");
}

/* Start recording a run of the given kind. */
void
bulk_stats_start(BulkRunStats *stats, const char *kind)
{
	memset(stats, 0, sizeof(BulkRunStats));
	stats->kind = kind;
}

/* Sample the memory peaks; call after a batch, before its context is reset. */
void
bulk_stats_sample(BulkRunStats *stats, MemoryContext engine_cxt)
{
	Size		engine = MemoryContextMemAllocated(engine_cxt, true);
	Size		backend = MemoryContextMemAllocated(TopMemoryContext, true);

	stats->engine_peak = Max(stats->engine_peak, engine);
	stats->backend_peak = Max(stats->backend_peak, backend);
}

/* Record the elapsed time and publish the figures as the session's last run. */
void
bulk_stats_finish(BulkRunStats *stats, instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	stats->elapsed_ms = INSTR_TIME_GET_MILLISEC(now);
	bulk_last_run = *stats;
}

PG_FUNCTION_INFO_V1(bulk_status_last_run);

/* bulk_status.last_run(): what this session's last scan or transition did. */
Datum
bulk_status_last_run(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	if (bulk_last_run.kind == NULL)
	{
		memset(nulls, true, sizeof(nulls));
		values[0] = values[1] = values[2] = values[3] = values[4] = values[5] = (Datum) 0;
	}
	else
	{
		values[0] = CStringGetTextDatum(bulk_last_run.kind);
		values[1] = Int64GetDatum(bulk_last_run.rows);
		values[2] = Int64GetDatum(bulk_last_run.batches);
		values[3] = Int64GetDatum((int64) bulk_last_run.engine_peak);
		values[4] = Int64GetDatum((int64) bulk_last_run.backend_peak);
		values[5] = Float8GetDatum(bulk_last_run.elapsed_ms);
	}

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
