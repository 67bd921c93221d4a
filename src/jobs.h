/*-------------------------------------------------------------------------
 *
 * jobs.h
 *	  Shared memory of background jobs, shared by jobs.c (the SQL
 *	  functions) and worker.c (the launcher, sweepers and job workers).
 *
 * The job tables are the truth; shared memory only says which parts have
 * a live worker, carries control requests to them and their live figures,
 * and wakes the launcher.  It is rebuilt empty at every server start and
 * after every crash, and the launcher then sweeps every database.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BULK_STATUS_JOBS_H
#define BULK_STATUS_JOBS_H

#include "postgres.h"

#include "storage/latch.h"
#include "storage/lwlock.h"

/* Most workers bulk_status.max_workers may allow. */
#define BULK_MAX_SLOTS		64

/* Databases a sweep may be asked for at once (more: every database). */
#define BULK_MAX_SWEEP_DBS	32

typedef struct BulkJobSlot
{
	bool		in_use;
	Oid			dboid;
	Oid			owner;
	int64		job;
	int			part;
	pid_t		pid;			/* 0 until the worker started */
	Latch	   *latch;
	bool		cancel_requested;
	bool		pause_requested;

	/* live figures, written by the worker */
	char		phase[16];
	int64		rows_done;
	int64		batches;
	int			batch_size;
	double		rows_per_sec;
	int64		engine_peak;
	int			vacuum_passes;
	double		vacuum_ms;
} BulkJobSlot;

typedef struct BulkShared
{
	LWLock	   *lock;
	pid_t		launcher_pid;
	Latch	   *launcher_latch;
	bool		sweep_all;		/* sweep every database */
	int			nsweep;			/* databases to sweep */
	Oid			sweep_dbs[BULK_MAX_SWEEP_DBS];
	int			nwaiting;		/* databases with parts waiting for a slot */
	Oid			waiting_dbs[BULK_MAX_SWEEP_DBS];
	BulkJobSlot slots[BULK_MAX_SLOTS];
} BulkShared;

extern BulkShared *bulk_shared;
extern int	bulk_status_max_workers;
extern int	bulk_status_job_retention;

extern void bulk_request_sweep(Oid dboid);
extern void bulk_add_db(Oid *dbs, int *n, Oid dboid, bool *overflow);

extern bool bulk_job_lock(int64 job);
extern void bulk_job_finalize(int64 job);
extern void bulk_job_prune(void);

#endif							/* BULK_STATUS_JOBS_H */
