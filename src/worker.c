/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  Background jobs, the process side: the launcher, the sweepers and the
 *	  job workers.
 *
 * bulk_status launcher: one per cluster, started with the server (when the
 * library is preloaded), connected to no database.  It sweeps every
 * database when it starts (after a crash too), every minute, and whenever
 * a commit or a finished worker asks for a database.
 *
 * bulk_status sweeper: one database, short-lived, connected as the
 * bootstrap superuser; it runs only fixed statements on the job tables.
 * It starts a worker for each part that is queued, or running without a
 * live worker (interrupted by a crash or a restart), in the order the jobs
 * were submitted, while bulk_status.max_workers allows; the rest wait.
 *
 * bulk_status job: one per part of a job, connected as the job's owner,
 * never as anyone else, so every privilege check, row-level security
 * policy and trigger applies as in the owner's own session.  It runs the
 * engine with a driver that writes the part's position in every batch's
 * transaction, so a resumed part continues exactly after the last
 * committed batch.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_database.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "bulk_status.h"
#include "compat.h"
#include "jobs.h"

/* How often the launcher sweeps every database anyway. */
#define FULL_SWEEP_MS		60000

/* A part whose worker failed to start this many times fails. */
#define MAX_START_ATTEMPTS	5

/* The longest a sweep waits for a job's row (lock_timeout). */
#define SWEEP_LOCK_TIMEOUT	"1s"

/*
 * Launcher
 */

/* Every database that accepts connections, in a list in cxt. */
static List *
all_databases(MemoryContext cxt)
{
	List	   *dbs = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		MemoryContext old;

		if (!db->datallowconn || db->datistemplate)
			continue;
		old = MemoryContextSwitchTo(cxt);
		dbs = lappend_oid(dbs, db->oid);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return dbs;
}

/* Run a sweeper in a database and wait for it; false if it could not start. */
static bool
run_sweeper(Oid dboid)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	pid_t		pid;

	bulk_worker_init(&worker, "bulk_sweeper_main", "bulk_status sweeper",
					 "bulk_status sweeper");
	worker.bgw_main_arg = ObjectIdGetDatum(dboid);

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		return false;
	if (WaitForBackgroundWorkerStartup(handle, &pid) == BGWH_POSTMASTER_DIED ||
		WaitForBackgroundWorkerShutdown(handle) == BGWH_POSTMASTER_DIED)
		proc_exit(1);
	return true;
}

static void
launcher_exit(int code, Datum arg)
{
	LWLockAcquire(bulk_shared->lock, LW_EXCLUSIVE);
	if (bulk_shared->launcher_pid == MyProcPid)
	{
		bulk_shared->launcher_pid = 0;
		bulk_shared->launcher_latch = NULL;
	}
	LWLockRelease(bulk_shared->lock);
}

void
bulk_launcher_main(Datum arg)
{
	MemoryContext cxt;
	TimestampTz last_full = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_activity(STATE_RUNNING, "waiting for jobs");

	cxt = AllocSetContextCreate(TopMemoryContext, "bulk_status launcher",
								ALLOCSET_DEFAULT_SIZES);
	before_shmem_exit(launcher_exit, (Datum) 0);
	LWLockAcquire(bulk_shared->lock, LW_EXCLUSIVE);
	bulk_shared->launcher_pid = MyProcPid;
	bulk_shared->launcher_latch = MyLatch;
	bulk_shared->sweep_all = true;	/* find what a crash or restart interrupted */
	LWLockRelease(bulk_shared->lock);

	for (;;)
	{
		List	   *dbs = NIL;
		List	   *retry = NIL;
		bool		all;
		ListCell   *lc;
		int			i;

		if (ShutdownRequestPending)
			proc_exit(0);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/* bulk_status.max_workers may have grown: start what waits */
			LWLockAcquire(bulk_shared->lock, LW_EXCLUSIVE);
			bulk_shared->sweep_all = true;
			LWLockRelease(bulk_shared->lock);
		}
		MemoryContextReset(cxt);

		if (TimestampDifferenceExceeds(last_full, GetCurrentTimestamp(), FULL_SWEEP_MS))
		{
			LWLockAcquire(bulk_shared->lock, LW_EXCLUSIVE);
			bulk_shared->sweep_all = true;
			LWLockRelease(bulk_shared->lock);
		}

		LWLockAcquire(bulk_shared->lock, LW_EXCLUSIVE);
		all = bulk_shared->sweep_all;
		for (i = 0; i < bulk_shared->nsweep; i++)
			dbs = lappend_oid(dbs, bulk_shared->sweep_dbs[i]);
		bulk_shared->nsweep = 0;
		bulk_shared->sweep_all = false;
		LWLockRelease(bulk_shared->lock);

		if (all)
		{
			dbs = all_databases(cxt);
			last_full = GetCurrentTimestamp();
		}
		foreach(lc, dbs)
		{
			if (ShutdownRequestPending)
				proc_exit(0);
			if (!run_sweeper(lfirst_oid(lc)))
				retry = lappend_oid(retry, lfirst_oid(lc));
		}
		if (retry != NIL)
		{
			/* no background worker slot free: try again in a while */
			ereport(LOG,
					(errmsg("bulk_status launcher could not start a sweeper"),
					 errhint("Raise max_worker_processes.")));
			foreach(lc, retry)
				bulk_request_sweep(lfirst_oid(lc));
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 retry != NIL ? 5000 : 1000, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Sweeper
 */

/* The slot of a part's live worker, or -1.  Caller holds the lock. */
static int
live_slot(Oid dboid, int64 job, int part)
{
	int			i;

	for (i = 0; i < BULK_MAX_SLOTS; i++)
	{
		BulkJobSlot *slot = &bulk_shared->slots[i];

		if (slot->in_use && slot->dboid == dboid && slot->job == job &&
			slot->part == part)
			return i;
	}
	return -1;
}

/*
 * End a part: cancelled, paused or failed (by a sweep, for a part without
 * a worker), or however its worker ended it.  Locks the job's row first.
 */
static void
end_part(int64 job, int part, const char *state, const char *error,
		 const char *sqlstate)
{
	Oid			argtypes[4] = {INT8OID, INT4OID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};

	(void) bulk_job_lock(job);
	values[0] = Int64GetDatum(job);
	values[1] = Int32GetDatum(part);
	values[2] = CStringGetTextDatum(state);
	values[3] = error ? CStringGetTextDatum(error) : (Datum) 0;
	nulls[3] = error ? ' ' : 'n';
	(void) bulk_state_execute("job_part_state",
					"UPDATE bulk_status.job_part_state SET state = $3, error = COALESCE($4, error),"
					" pid = NULL, updated = clock_timestamp(),"
					" finished = CASE WHEN $3 IN ('done', 'failed', 'cancelled')"
					"                 THEN clock_timestamp() END"
					" WHERE job = $1 AND part = $2",
					4, argtypes, values, nulls, SPI_OK_UPDATE);
	if (sqlstate)
	{
		Oid			t[2] = {INT8OID, TEXTOID};
		Datum		v[2] = {values[0], CStringGetTextDatum(sqlstate)};

		(void) bulk_state_execute("job_state",
						"UPDATE bulk_status.job_state SET error_sqlstate = COALESCE(error_sqlstate, $2)"
						" WHERE id = $1",
						2, t, v, NULL, SPI_OK_UPDATE);
	}
	bulk_job_finalize(job);
}

/*
 * Claim a slot and start a worker for a part; false if the cap is reached
 * or no background worker slot is free.
 */
static bool
start_part(Oid owner, int64 job, int part)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	int			used = 0;
	int			free_slot = -1;
	int			i;

	LWLockAcquire(bulk_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < BULK_MAX_SLOTS; i++)
	{
		if (bulk_shared->slots[i].in_use)
			used++;
		else if (free_slot < 0)
			free_slot = i;
	}
	if (used >= bulk_status_max_workers || free_slot < 0)
	{
		bool		overflow = false;

		bulk_add_db(bulk_shared->waiting_dbs, &bulk_shared->nwaiting,
					MyDatabaseId, &overflow);
		if (overflow)
			bulk_shared->sweep_all = true;
		LWLockRelease(bulk_shared->lock);
		return false;
	}
	memset(&bulk_shared->slots[free_slot], 0, sizeof(BulkJobSlot));
	bulk_shared->slots[free_slot].in_use = true;
	bulk_shared->slots[free_slot].dboid = MyDatabaseId;
	bulk_shared->slots[free_slot].owner = owner;
	bulk_shared->slots[free_slot].job = job;
	bulk_shared->slots[free_slot].part = part;
	LWLockRelease(bulk_shared->lock);

	bulk_worker_init(&worker, "bulk_job_worker_main",
					 psprintf("bulk_status job " INT64_FORMAT " part %d", job, part),
					 "bulk_status job");
	worker.bgw_main_arg = Int32GetDatum(free_slot);
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		LWLockAcquire(bulk_shared->lock, LW_EXCLUSIVE);
		bulk_shared->slots[free_slot].in_use = false;
		LWLockRelease(bulk_shared->lock);
		ereport(LOG,
				(errmsg("bulk_status could not start a worker for job " INT64_FORMAT, job),
				 errhint("Raise max_worker_processes; the job waits meanwhile.")));
		return false;
	}

	/*
	 * Wait until it runs, so that a worker that never starts gives its
	 * slot back at once.  (It does not get far: its first statement waits
	 * for the job's row, which this sweep holds until it commits.)
	 */
	{
		pid_t		pid;
		BgwHandleStatus status = WaitForBackgroundWorkerStartup(handle, &pid);

		if (status == BGWH_POSTMASTER_DIED)
			proc_exit(1);
		if (status != BGWH_STARTED)
		{
			LWLockAcquire(bulk_shared->lock, LW_EXCLUSIVE);
			if (bulk_shared->slots[free_slot].pid == 0)
				bulk_shared->slots[free_slot].in_use = false;
			LWLockRelease(bulk_shared->lock);
		}
	}
	return true;
}

/* Start a transaction with SPI and a snapshot, in a sweeper. */
static void
sweeper_begin(void)
{
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
}

/* Commit a sweeper's transaction. */
static void
sweeper_commit(void)
{
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
}

/* Whether a part has a live worker. */
static bool
has_live_worker(int64 job, int part)
{
	bool		live;

	LWLockAcquire(bulk_shared->lock, LW_SHARED);
	live = live_slot(MyDatabaseId, job, part) >= 0;
	LWLockRelease(bulk_shared->lock);
	return live;
}

/* The value of the result column called name. */
static Datum
column(HeapTuple tup, TupleDesc desc, const char *name, bool *isnull)
{
	int			col = SPI_fnumber(desc, name);

	if (col <= 0)
		elog(ERROR, "no column \"%s\" in a job table's result", name);
	return SPI_getbinval(tup, desc, col, isnull);
}

/*
 * Sweep one part, in the current transaction: with its job's row locked
 * first (the lock order of jobs.c), read it again, then end it (cancelled,
 * paused, or failed) or start a worker for it unless no slot is left
 * (*full, then set for the rest of the sweep).
 */
static void
sweep_part(int64 job, int part, bool *full)
{
	Oid			argtypes[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(job), Int32GetDatum(part)};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	char	   *requested;
	Oid			owner;
	bool		owner_exists;
	bool		canlogin;
	int			attempts;

	if (!bulk_job_lock(job) ||
		bulk_state_execute("job_part_state",
				 "SELECT j.owner::oid AS owner, a.oid IS NOT NULL AS owner_exists,"
				 "       COALESCE(a.rolcanlogin, false) AS canlogin, j.requested, p.attempts"
				 "  FROM bulk_status.job_part_state p"
				 "  JOIN bulk_status.job_state j ON j.id = p.job"
				 "  LEFT JOIN pg_catalog.pg_authid a ON a.oid = j.owner"
				 " WHERE p.job = $1 AND p.part = $2 AND p.state IN ('queued', 'running')",
				 2, argtypes, values, NULL, SPI_OK_SELECT) == 0)
		return;					/* gone, or ended meanwhile */
	/* a worker that started since the sweep began ends its part itself */
	if (has_live_worker(job, part))
		return;

	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	owner = DatumGetObjectId(column(tup, desc, "owner", &isnull));
	owner_exists = DatumGetBool(column(tup, desc, "owner_exists", &isnull));
	canlogin = DatumGetBool(column(tup, desc, "canlogin", &isnull));
	requested = SPI_getvalue(tup, desc, SPI_fnumber(desc, "requested"));
	attempts = DatumGetInt32(column(tup, desc, "attempts", &isnull));

	if (requested && strcmp(requested, "cancel") == 0)
		end_part(job, part, "cancelled", NULL, NULL);
	else if (requested && strcmp(requested, "pause") == 0)
		end_part(job, part, "paused", NULL, NULL);
	else if (!owner_exists)
		end_part(job, part, "failed", "the job's owner was dropped", "28000");
	else if (!canlogin && !BULK_NOLOGIN_OWNERS)
		end_part(job, part, "failed",
				 "the job's owner cannot log in (NOLOGIN)", "28000");
	else if (attempts >= MAX_START_ATTEMPTS)
		end_part(job, part, "failed",
				 "the job's worker failed to start several times; see the server log",
				 "58000");
	else if (!*full)
	{
		if (start_part(owner, job, part))
			/* counted: a worker that dies before its first batch is not */
			(void) bulk_state_execute("job_part_state",
							"UPDATE bulk_status.job_part_state SET attempts = attempts + 1"
							" WHERE job = $1 AND part = $2",
							2, argtypes, values, NULL, SPI_OK_UPDATE);
		else
			*full = true;		/* the rest wait for a slot */
	}
}

/*
 * Sweep one part in a transaction of its own; false if its job's row was
 * locked for longer than SWEEP_LOCK_TIMEOUT (the transaction then rolled
 * back, and nothing changed).  Any other error ends the sweeper.
 */
static bool
sweep_part_in_transaction(int64 job, int part, bool *full, MemoryContext cxt)
{
	volatile bool swept = true;

	sweeper_begin();
	PG_TRY();
	{
		sweep_part(job, part, full);
		sweeper_commit();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			PG_RE_THROW();
		FlushErrorState();
		AbortCurrentTransaction();
		swept = false;
	}
	PG_END_TRY();
	return swept;
}

void
bulk_sweeper_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	MemoryContext cxt;
	int64	   *jobs;
	int		   *parts;
	uint64		n;
	uint64		i;
	bool		full = false;
	bool		skipped = false;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("bulk_status sweeper");
	cxt = AllocSetContextCreate(TopMemoryContext, "bulk_status sweeper",
								ALLOCSET_DEFAULT_SIZES);

	sweeper_begin();
	pgstat_report_activity(STATE_RUNNING, "sweeping bulk_status jobs");

	/* Nothing to do where the extension (at 0.2.0 or later) is not. */
	if (!OidIsValid(get_extension_oid("bulk_status", true)) ||
		!OidIsValid(get_namespace_oid("bulk_status", true)) ||
		!OidIsValid(get_relname_relid("job_part_state", get_namespace_oid("bulk_status", true))))
	{
		sweeper_commit();
		proc_exit(0);
	}

	bulk_job_prune();

	/* This database waits for a slot no more: it is being swept. */
	LWLockAcquire(bulk_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < bulk_shared->nwaiting; i++)
		if (bulk_shared->waiting_dbs[i] == dboid)
			bulk_shared->waiting_dbs[i] = bulk_shared->waiting_dbs[--bulk_shared->nwaiting];
	LWLockRelease(bulk_shared->lock);

	/* The parts to look at, in the order the jobs were submitted. */
	n = bulk_state_execute("job_part_state",
				 "SELECT job, part FROM bulk_status.job_part_state"
				 " WHERE state IN ('queued', 'running') ORDER BY job, part",
				 0, NULL, NULL, NULL, SPI_OK_SELECT);
	jobs = MemoryContextAlloc(cxt, sizeof(int64) * Max(n, 1));
	parts = MemoryContextAlloc(cxt, sizeof(int) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		jobs[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
											  SPI_tuptable->tupdesc, 1, &isnull));
		parts[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
											   SPI_tuptable->tupdesc, 2, &isnull));
	}
	sweeper_commit();

	/*
	 * Each part in a transaction of its own, holding one job's row.  A
	 * sweep waits at most SWEEP_LOCK_TIMEOUT for a job's row: a session that
	 * holds it (a pause in an open transaction, say) must not stall the
	 * launcher, which waits for each sweeper in turn.  Such a part is left
	 * for the sweep this one asks for as it ends.
	 */
	(void) set_config_option("lock_timeout", SWEEP_LOCK_TIMEOUT, PGC_SUSET,
							 PGC_S_SESSION, GUC_ACTION_SET, true, 0, false);
	for (i = 0; i < n; i++)
	{
		if (has_live_worker(jobs[i], parts[i]))
			continue;
		if (!sweep_part_in_transaction(jobs[i], parts[i], &full, cxt))
			skipped = true;
	}
	if (skipped)
		bulk_request_sweep(dboid);
	proc_exit(0);
}

/*
 * Job worker
 */

typedef enum StopReason
{
	STOP_NONE,
	STOP_PAUSE,
	STOP_CANCEL
} StopReason;

/* A job worker's state: the driver's arg. */
typedef struct JobWorker
{
	int			slot;
	int64		job;
	int			part;
	const char *relname;
	int64		base_rows;		/* rows done before this run */
	int64		base_batches;
	int			base_vacuum_passes;
	double		base_vacuum_ms;
	bool		vacuum_columns; /* job_part_state has them (0.3.0 on) */
	StopReason	stop;
	bool		stopped_run;	/* the run stopped before its end */
	TimestampTz last_batch;
	BulkTransitionArgs args;
	BulkPosition resume;
} JobWorker;

/*
 * The columns of bulk_status.job_part_state a worker reads (after the
 * job's options and requested, in load_part's select list) and writes
 * after each batch, by name: PART_COLUMN(i) is column i's name.
 */
typedef enum PartColumn
{
	PC_STATE,
	PC_RANGE_LO,
	PC_RANGE_HI,
	PC_BLOCK_LO,
	PC_BLOCK_HI,
	PC_ROWS_DONE,
	PC_BATCHES,
	PC_VACUUM_PASSES,
	PC_VACUUM_MS,
	/* the position: written after every batch, read to resume */
	PC_TARGET,
	PC_TARGET_INDEX,
	PC_STRATEGY,
	PC_PASS,
	PC_POSITION,
	PC_POSITION_BLOCK,
	PC_RETRY_POSITION,
	PC_RETRY_BLOCK,
	PC_SKIPPED,
	NUM_PART_COLUMNS
} PartColumn;

static const char *const part_columns[NUM_PART_COLUMNS] = {
	"state", "range_lo", "range_hi", "block_lo", "block_hi", "rows_done",
	"batches", "vacuum_passes", "vacuum_ms", "target", "target_index", "strategy", "pass", "position",
	"position_block", "retry_position", "retry_block", "skipped"
};

static BulkJobSlot *
slot_of(JobWorker *w)
{
	return &bulk_shared->slots[w->slot];
}

/* Driver: show what the engine does in the job's live figures. */
static void
worker_phase(void *arg, const char *phase)
{
	BulkJobSlot *slot = slot_of((JobWorker *) arg);

	strlcpy(slot->phase, phase, sizeof(slot->phase));
}

/* Driver: whether the job was asked to stop; remember which way. */
static bool
worker_stop_requested(void *arg)
{
	JobWorker  *w = (JobWorker *) arg;
	BulkJobSlot *slot = slot_of(w);

	if (slot->cancel_requested)
		w->stop = STOP_CANCEL;
	else if (slot->pause_requested)
		w->stop = STOP_PAUSE;
	return w->stop != STOP_NONE;
}

static void
release_slot(int code, Datum arg)
{
	int			i = DatumGetInt32(arg);
	Latch	   *latch = NULL;
	int			n;
	Oid			waiting[BULK_MAX_SWEEP_DBS];

	LWLockAcquire(bulk_shared->lock, LW_EXCLUSIVE);
	if (bulk_shared->slots[i].pid == MyProcPid)
		bulk_shared->slots[i].in_use = false;
	/* a slot is free: the databases waiting for one are swept again */
	n = bulk_shared->nwaiting;
	memcpy(waiting, bulk_shared->waiting_dbs, sizeof(Oid) * n);
	bulk_shared->nwaiting = 0;
	latch = bulk_shared->launcher_latch;
	LWLockRelease(bulk_shared->lock);
	for (i = 0; i < n; i++)
		bulk_request_sweep(waiting[i]);
	if (latch)
		SetLatch(latch);
}

/* Driver: start a transaction, with SPI and a snapshot, if none is open. */
static void
worker_begin(void *arg)
{
	if (IsTransactionState())
		return;
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
}

/*
 * Driver: commit the batch (and its position) and report the table
 * statistics, so that autovacuum sees the dead rows as the job goes.  The
 * caller's memory context stays current.
 */
static void
worker_commit(void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;

	PopActiveSnapshot();
	SPI_finish();
	MemoryContextSwitchTo(cxt);
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	pgstat_report_stat(false);
}

/* Driver: stop before the next batch if asked to, else begin it. */
static bool
worker_before_batch(void *arg)
{
	JobWorker  *w = (JobWorker *) arg;

	if (worker_stop_requested(w))
	{
		w->stopped_run = true;
		return false;
	}
	worker_begin(w);
	worker_phase(w, "running");
	return true;
}

/*
 * Driver: write the part's position with the batch, in its transaction;
 * refresh the live figures.
 */
static void
worker_after_batch(void *arg, const BulkPosition *pos)
{
	JobWorker  *w = (JobWorker *) arg;
	const PartColumn cols[] = {
		PC_TARGET, PC_TARGET_INDEX, PC_STRATEGY, PC_PASS, PC_POSITION,
		PC_POSITION_BLOCK, PC_RETRY_POSITION, PC_RETRY_BLOCK, PC_SKIPPED,
		PC_ROWS_DONE, PC_BATCHES
	};
	Oid			types[lengthof(cols) + 7];
	Datum		values[lengthof(cols) + 7];
	char		nulls[lengthof(cols) + 7];
	StringInfoData sql;
	BulkJobSlot *slot = slot_of(w);
	TimestampTz now = GetCurrentTimestamp();
	long		secs;
	int			usecs;
	double		elapsed;
	int			i;

	memset(nulls, ' ', sizeof(nulls));
	for (i = 0; i < lengthof(cols); i++)
	{
		switch (cols[i])
		{
			case PC_TARGET:
				types[i] = OIDOID;
				values[i] = ObjectIdGetDatum(pos->target);
				nulls[i] = OidIsValid(pos->target) ? ' ' : 'n';
				break;
			case PC_TARGET_INDEX:
				types[i] = INT4OID;
				values[i] = Int32GetDatum(pos->target_index);
				break;
			case PC_STRATEGY:
				types[i] = TEXTOID;
				values[i] = CStringGetTextDatum(bulk_strategy_name(pos->strategy));
				break;
			case PC_PASS:
				types[i] = INT4OID;
				values[i] = Int32GetDatum(pos->pass);
				break;
			case PC_POSITION:
			case PC_RETRY_POSITION:
				{
					char	  **text = cols[i] == PC_POSITION ? pos->position : pos->retry_position;

					types[i] = TEXTARRAYOID;
					values[i] = bulk_text_array(text, pos->npos);
					nulls[i] = text ? ' ' : 'n';
				}
				break;
			case PC_POSITION_BLOCK:
			case PC_RETRY_BLOCK:
				types[i] = INT8OID;
				values[i] = Int64GetDatum(cols[i] == PC_POSITION_BLOCK ?
										  pos->position_block : pos->retry_block);
				break;
			case PC_SKIPPED:
				types[i] = BOOLOID;
				values[i] = BoolGetDatum(pos->skipped);
				break;
			case PC_ROWS_DONE:
			case PC_BATCHES:
				types[i] = INT8OID;
				values[i] = Int64GetDatum(cols[i] == PC_ROWS_DONE ?
										  w->base_rows + pos->rows :
										  w->base_batches + pos->batches);
				break;
			default:
				elog(ERROR, "job part column %d is not written after a batch", cols[i]);
		}
	}
	/* then the figures that are not simply set, and the part's key */
	types[i] = INT4OID;
	values[i++] = Int32GetDatum(pos->batch_size);
	types[i] = INT8OID;
	values[i++] = Int64GetDatum((int64) pos->engine_peak);
	types[i] = INT4OID;
	values[i++] = Int32GetDatum(w->base_vacuum_passes + pos->vacuum_passes);
	types[i] = FLOAT8OID;
	values[i++] = Float8GetDatum(w->base_vacuum_ms + pos->vacuum_ms);
	types[i] = TEXTOID;
	values[i] = pos->vacuum_note ? CStringGetTextDatum(pos->vacuum_note) : (Datum) 0;
	nulls[i++] = pos->vacuum_note ? ' ' : 'n';
	types[i] = INT8OID;
	values[i++] = Int64GetDatum(w->job);
	types[i] = INT4OID;
	values[i++] = Int32GetDatum(w->part);

	initStringInfo(&sql);
	appendStringInfoString(&sql, "UPDATE bulk_status.job_part_state SET ");
	for (i = 0; i < lengthof(cols); i++)
		appendStringInfo(&sql, "%s = $%d%s, ", part_columns[cols[i]], i + 1,
						 cols[i] == PC_TARGET ? "::regclass" : "");
	appendStringInfo(&sql, "batch_size = $%d, engine_peak = GREATEST(engine_peak, $%d),",
					 i + 1, i + 2);
	/* (before ALTER EXTENSION UPDATE to 0.3.0, $i+3..$i+5 go unused) */
	if (w->vacuum_columns)
		appendStringInfo(&sql, " vacuum_passes = $%d, vacuum_ms = $%d,"
						 " vacuum_note = COALESCE($%d, vacuum_note),",
						 i + 3, i + 4, i + 5);
	appendStringInfo(&sql, " attempts = 0, updated = clock_timestamp()"
					 " WHERE job = $%d AND part = $%d", i + 6, i + 7);
	(void) bulk_state_execute("job_part_state", sql.data, i + 7, types, values, nulls,
							  SPI_OK_UPDATE);

	/* rows/s: a moving average over batches, pauses included */
	TimestampDifference(w->last_batch, now, &secs, &usecs);
	elapsed = secs + usecs / 1e6;
	w->last_batch = now;
	slot->rows_done = w->base_rows + pos->rows;
	slot->batches = w->base_batches + pos->batches;
	slot->batch_size = pos->batch_size;
	slot->engine_peak = (int64) pos->engine_peak;
	slot->vacuum_passes = w->base_vacuum_passes + pos->vacuum_passes;
	slot->vacuum_ms = w->base_vacuum_ms + pos->vacuum_ms;
	if (elapsed > 0)
		slot->rows_per_sec = slot->rows_per_sec == 0 ? pos->changed / elapsed :
			0.7 * slot->rows_per_sec + 0.3 * (pos->changed / elapsed);
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("bulk_status job " INT64_FORMAT " part %d: %s %s, "
									INT64_FORMAT " rows in " INT64_FORMAT " batches",
									w->job, w->part,
									w->args.delete_rows ? "purge of" :
									w->args.any_from ? "stamp of" : "transition of",
									w->relname, slot->rows_done, slot->batches));
}

/* Column col of a part's row as a text[]'s strings, or NULL. */
static char **
part_text_array(HeapTuple tup, TupleDesc desc, int col, int *n)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? NULL : bulk_text_array_values(d, n);
}

/* Column col of a part's row as an int8, 0 for NULL. */
static int64
part_int64(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * Read where the part stopped, if it ran before, from the part's columns
 * (the first of them at column first): the position it resumes from.
 */
static void
load_resume(JobWorker *w, HeapTuple tup, TupleDesc desc, int first)
{
	BulkPosition *r = &w->resume;
	bool		isnull;
	int			n;

	(void) SPI_getbinval(tup, desc, first + PC_TARGET_INDEX, &isnull);
	if (isnull)
		return;					/* it never ran */
	r->target = DatumGetObjectId(SPI_getbinval(tup, desc, first + PC_TARGET, &isnull));
	if (isnull)
		r->target = InvalidOid;
	r->target_index = DatumGetInt32(SPI_getbinval(tup, desc, first + PC_TARGET_INDEX, &isnull));
	r->strategy = bulk_parse_strategy(SPI_getvalue(tup, desc, first + PC_STRATEGY));
	r->pass = DatumGetInt32(SPI_getbinval(tup, desc, first + PC_PASS, &isnull));
	r->position = part_text_array(tup, desc, first + PC_POSITION, &r->npos);
	r->position_block = part_int64(tup, desc, first + PC_POSITION_BLOCK);
	r->retry_position = part_text_array(tup, desc, first + PC_RETRY_POSITION, &n);
	r->retry_block = part_int64(tup, desc, first + PC_RETRY_BLOCK);
	r->skipped = DatumGetBool(SPI_getbinval(tup, desc, first + PC_SKIPPED, &isnull));
	w->args.part.resume = r;
}

/*
 * Read the job and the part into w (in the current memory context),
 * locking the job's row, then the part's; false if there is nothing to
 * run.  The select list: the job's options (options.c), its kind,
 * search_path and request, its number of parts, then the part's columns.
 */
static bool
load_part(JobWorker *w)
{
	Oid			argtypes[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(w->job), Int32GetDatum(w->part)};
	int			nopts = bulk_job_options_count();
	int			first;			/* column of the first part column */
	StringInfoData sql;
	HeapTuple	tup;
	TupleDesc	desc;
	BulkTransitionArgs *a = &w->args;
	bool		isnull;
	char	   *kind;
	char	   *requested;
	char	   *state;
	int			n;
	int			i;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	bulk_job_options_select(&sql, "j");
	appendStringInfoString(&sql, ", j.kind, j.search_path, j.requested,"
						   " (SELECT count(*) FROM bulk_status.job_part_state q"
						   "   WHERE q.job = j.id)::int4");
	for (i = 0; i < NUM_PART_COLUMNS; i++)
	{
		/* columns of a later version than the one installed read as 0 */
		if (bulk_state_has_column("job_part_state", part_columns[i]))
			appendStringInfo(&sql, ", p.%s", part_columns[i]);
		else
			appendStringInfo(&sql, ", NULL AS %s", part_columns[i]);
	}
	appendStringInfoString(&sql, " FROM bulk_status.job_state j"
						   " JOIN bulk_status.job_part_state p ON p.job = j.id"
						   " WHERE j.id = $1 AND p.part = $2 FOR UPDATE OF p");
	first = nopts + 5;

	if (!bulk_job_lock(w->job) ||
		bulk_state_execute("job_part_state", sql.data, 2, argtypes, values, NULL,
						   SPI_OK_SELECT) == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	requested = SPI_getvalue(tup, desc, nopts + 3);
	state = SPI_getvalue(tup, desc, first + PC_STATE);
	if (strcmp(state, "queued") != 0 && strcmp(state, "running") != 0)
		return false;
	if (requested)
	{
		w->stop = strcmp(requested, "cancel") == 0 ? STOP_CANCEL : STOP_PAUSE;
		return false;
	}

	memset(a, 0, sizeof(BulkTransitionArgs));
	bulk_job_options_read(tup, desc, 1, a);
	kind = SPI_getvalue(tup, desc, nopts + 1);
	a->delete_rows = strcmp(kind, "purge") == 0;
	a->any_from = strcmp(kind, "stamp") == 0;
	(void) set_config_option("search_path", SPI_getvalue(tup, desc, nopts + 2), PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SET, true, 0, false);
	a->part.count = DatumGetInt32(SPI_getbinval(tup, desc, nopts + 4, &isnull));
	a->part.index = w->part;
	a->part.range_lo = part_text_array(tup, desc, first + PC_RANGE_LO, &a->part.range_nkeys);
	a->part.range_hi = part_text_array(tup, desc, first + PC_RANGE_HI, &n);
	if (a->part.range_hi)
		a->part.range_nkeys = n;
	a->part.block_lo = part_int64(tup, desc, first + PC_BLOCK_LO);
	a->part.block_hi = part_int64(tup, desc, first + PC_BLOCK_HI);
	load_resume(w, tup, desc, first);
	w->base_rows = part_int64(tup, desc, first + PC_ROWS_DONE);
	w->base_batches = part_int64(tup, desc, first + PC_BATCHES);
	w->vacuum_columns = bulk_state_has_column("job_part_state", "vacuum_passes");
	if (w->vacuum_columns)
	{
		w->base_vacuum_passes = DatumGetInt32(SPI_getbinval(tup, desc, first + PC_VACUUM_PASSES,
															&isnull));
		w->base_vacuum_ms = DatumGetFloat8(SPI_getbinval(tup, desc, first + PC_VACUUM_MS,
														 &isnull));
	}
	w->relname = get_rel_name(a->relid) ? quote_identifier(get_rel_name(a->relid)) : "?";
	return true;
}

/* Mark the part running, and the job if it was not yet. */
static void
mark_running(JobWorker *w)
{
	Oid			argtypes[3] = {INT8OID, INT4OID, INT4OID};
	Datum		values[3] = {Int64GetDatum(w->job), Int32GetDatum(w->part),
	Int32GetDatum(MyProcPid)};

	(void) bulk_state_execute("job_part_state",
							  "UPDATE bulk_status.job_part_state SET state = 'running', pid = $3,"
							  " started = COALESCE(started, clock_timestamp()),"
							  " updated = clock_timestamp() WHERE job = $1 AND part = $2",
							  3, argtypes, values, NULL, SPI_OK_UPDATE);
	(void) bulk_state_execute("job_state",
							  "UPDATE bulk_status.job_state SET state = 'running',"
							  " started = COALESCE(started, clock_timestamp())"
							  " WHERE id = $1 AND state IN ('queued', 'running')",
							  1, argtypes, values, NULL, SPI_OK_UPDATE);
}

/* Record how the part ended, in a transaction of its own. */
static void
finish_part(JobWorker *w, const char *state, ErrorData *edata)
{
	/*
	 * A cancel interrupts the batch in flight; its SIGINT may still come
	 * now (it is sent after the request), and must not cut this short.
	 */
	HOLD_CANCEL_INTERRUPTS();
	QueryCancelPending = false;
	worker_begin(w);
	end_part(w->job, w->part, state, edata ? edata->message : NULL,
			 edata ? unpack_sql_state(edata->sqlerrcode) : NULL);
	worker_commit(w);
	RESUME_CANCEL_INTERRUPTS();
}

/*
 * Run the part's walk with the job driver; return how the part ends:
 * done, cancelled, paused, or failed (with the error in *edata).
 */
static const char *
run_part(JobWorker *w, MemoryContext cxt, ErrorData **edata)
{
	BulkDriver	driver = {
		w, worker_begin, worker_before_batch, worker_after_batch, worker_commit,
		worker_phase, worker_stop_requested
	};

	w->args.driver = &driver;
	w->args.run_parent = cxt;
	*edata = NULL;
	PG_TRY();
	{
		MemoryContextSwitchTo(cxt);
		(void) bulk_transition_run(&w->args, false);
		MemoryContextSwitchTo(cxt);
		if (IsTransactionState())
			worker_commit(w);
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(cxt);
		*edata = CopyErrorData();
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		/* a cancel may have interrupted the batch: that is not a failure */
		QueryCancelPending = false;
		RESUME_INTERRUPTS();
		MemoryContextSwitchTo(cxt);
	}
	PG_END_TRY();
	w->args.driver = NULL;

	if (*edata != NULL)
	{
		if (worker_stop_requested(w) && w->stop == STOP_CANCEL)
		{
			*edata = NULL;
			return "cancelled";
		}
		return "failed";
	}
	return !w->stopped_run ? "done" :
		w->stop == STOP_CANCEL ? "cancelled" : "paused";
}

void
bulk_job_worker_main(Datum arg)
{
	MemoryContext cxt;
	JobWorker  *w;
	BulkJobSlot *slot;
	Oid			dboid;
	Oid			owner;
	const char *end;
	ErrorData  *edata;

	cxt = AllocSetContextCreate(TopMemoryContext, "bulk_status job",
								ALLOCSET_DEFAULT_SIZES);
	w = MemoryContextAllocZero(cxt, sizeof(JobWorker));
	w->slot = DatumGetInt32(arg);
	slot = slot_of(w);

	LWLockAcquire(bulk_shared->lock, LW_EXCLUSIVE);
	slot->pid = MyProcPid;
	slot->latch = MyLatch;
	dboid = slot->dboid;
	owner = slot->owner;
	w->job = slot->job;
	w->part = slot->part;
	LWLockRelease(bulk_shared->lock);
	before_shmem_exit(release_slot, Int32GetDatum(w->slot));

	pqsignal(SIGTERM, die);
	pqsignal(SIGINT, StatementCancelHandler);
	BackgroundWorkerUnblockSignals();

	/*
	 * As the owner: PostgreSQL checks CONNECT here, and LOGIN unless the
	 * major lets a worker connect as a NOLOGIN role (BULK_NOLOGIN_OWNERS).
	 */
	BackgroundWorkerInitializeConnectionByOid(dboid, owner, BULK_CONNECT_AS_OWNER_FLAGS);
	pgstat_report_appname(psprintf("bulk_status job " INT64_FORMAT, w->job));

	/* Key values are stored as text written under these settings. */
	bulk_set_key_text_settings(GUC_ACTION_SET);
	(void) set_config_option("bulk_status.progress_interval", "0", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SET, true, 0, false);

	worker_begin(w);
	MemoryContextSwitchTo(cxt);
	if (!load_part(w))
	{
		HOLD_CANCEL_INTERRUPTS();
		if (w->stop != STOP_NONE)
			end_part(w->job, w->part, w->stop == STOP_CANCEL ? "cancelled" : "paused",
					 NULL, NULL);
		worker_commit(w);
		proc_exit(0);
	}
	mark_running(w);
	slot->rows_done = w->base_rows;
	slot->batches = w->base_batches;
	w->last_batch = GetCurrentTimestamp();
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("bulk_status job " INT64_FORMAT " part %d: starting",
									w->job, w->part));

	end = run_part(w, cxt, &edata);
	finish_part(w, end, edata);
	proc_exit(0);
}
