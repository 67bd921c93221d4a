/*-------------------------------------------------------------------------
 *
 * first_row.c
 *	  Time to the first row at the client, for test/bench/bench.sh.
 *
 *	  first_row DBNAME METHOD [REPEAT [TAG]]
 *
 * Connects with libpq (PGHOST, PGPORT, PGUSER from the environment), then
 * times, from the moment the first statement of METHOD is sent, until
 * libpq hands the client its first row, and until it has handed it the
 * first 10,000 rows (one batch of psql's FETCH_COUNT=10000).  The statement
 * that returns rows runs in libpq's single-row mode (or COPY OUT), so a row
 * counts as soon as its bytes reach the client, not when a whole FETCH
 * result has arrived.  After 10,000 rows the query is cancelled (or its
 * cursor abandoned); the connection is new for every repetition and its
 * set-up is not timed.  Prints the medians over REPEAT (default 3) runs:
 * "first_row_seconds first_10000_rows_seconds".  With TAG, each connection
 * first writes "bulk_status bench run TAG" to the server log (untimed), so
 * that bench.sh can put its temporary files down to it.
 *
 * METHOD is one of:
 *	copy			COPY files TO STDOUT
 *	fetch_count		what psql does with FETCH_COUNT: BEGIN; DECLARE a cursor
 *					for SELECT * FROM files ORDER BY path; FETCH FORWARD 10000
 *	with_hold		BEGIN; DECLARE c CURSOR WITH HOLD FOR SELECT * FROM files
 *					ORDER BY path; COMMIT; FETCH 10000 FROM c
 *	scan			as fetch_count, over SELECT bulk_status.scan(NULL::files)
 *	scan_direct		SELECT bulk_status.scan(NULL::files), no cursor
 *	copy_scan		COPY (SELECT bulk_status.scan(NULL::files)) TO STDOUT
 *	scan_cols		as scan, the table's columns:
 *					SELECT (bulk_status.scan(NULL::files)).*
 *	copy_scan_cols	COPY (that query) TO STDOUT
 *	cursor_fetch	SELECT bulk_status.cursor_open(...); then
 *					SELECT * FROM bulk_status.cursor_fetch(...)
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libpq-fe.h"

#define BATCH_ROWS	10000
#define MAX_REPEAT	25
#define CURSOR_NAME	"bench_first_row"
/* bulk_status.scan as the table's columns */
#define SCAN_COLS	"SELECT (bulk_status.scan(NULL::files)).*"

/* One way of reading the table: statements run before the row source, then it. */
typedef struct Method
{
	const char *name;
	const char *before[4];		/* run in order with PQexec, timed; NULL ends */
	const char *rows;			/* the statement whose rows are timed */
	int			copy;			/* rows is a COPY TO STDOUT */
} Method;

static const Method methods[] = {
	{"copy", {NULL}, "COPY files TO STDOUT", 1},
	{"fetch_count",
		{"BEGIN",
		 "DECLARE _psql_cursor NO SCROLL CURSOR FOR SELECT * FROM files ORDER BY path",
		 NULL},
	 "FETCH FORWARD 10000 FROM _psql_cursor", 0},
	{"with_hold",
		{"BEGIN",
		 "DECLARE c CURSOR WITH HOLD FOR SELECT * FROM files ORDER BY path",
		 "COMMIT",
		 NULL},
	 "FETCH 10000 FROM c", 0},
	{"scan",
		{"BEGIN",
		 "DECLARE _psql_cursor NO SCROLL CURSOR FOR SELECT bulk_status.scan(NULL::files)",
		 NULL},
	 "FETCH FORWARD 10000 FROM _psql_cursor", 0},
	{"scan_direct", {NULL}, "SELECT bulk_status.scan(NULL::files)", 0},
	{"copy_scan", {NULL}, "COPY (SELECT bulk_status.scan(NULL::files)) TO STDOUT", 1},
	{"scan_cols",
		{"BEGIN",
		 "DECLARE _psql_cursor NO SCROLL CURSOR FOR " SCAN_COLS,
		 NULL},
	 "FETCH FORWARD 10000 FROM _psql_cursor", 0},
	{"copy_scan_cols", {NULL}, "COPY (" SCAN_COLS ") TO STDOUT", 1},
	{"cursor_fetch",
		{"SELECT bulk_status.cursor_open('" CURSOR_NAME "', 'files')", NULL},
	 "SELECT * FROM bulk_status.cursor_fetch('" CURSOR_NAME "', NULL::files)", 0},
};

/* Seconds on a monotonic clock. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Print a message and the connection's error, and exit with status 1. */
static void
fail(PGconn *conn, const char *what)
{
	fprintf(stderr, "first_row: %s: %s", what, conn ? PQerrorMessage(conn) : "\n");
	exit(1);
}

/* Run sql and require it to succeed. */
static void
exec_ok(PGconn *conn, const char *sql)
{
	PGresult   *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		fail(conn, sql);
	PQclear(res);
}

/* Ask the server to cancel the running statement. */
static void
cancel(PGconn *conn)
{
	char		errbuf[256];
	PGcancel   *c = PQgetCancel(conn);

	if (c == NULL || !PQcancel(c, errbuf, sizeof(errbuf)))
		fprintf(stderr, "first_row: cancel failed: %s\n", errbuf);
	if (c)
		PQfreeCancel(c);
}

/* Read what is left of the current statement's results. */
static void
drain(PGconn *conn)
{
	PGresult   *res;

	while ((res = PQgetResult(conn)) != NULL)
	{
		if (PQresultStatus(res) == PGRES_COPY_OUT)
		{
			char	   *buf;

			while (PQgetCopyData(conn, &buf, 0) > 0)
				PQfreemem(buf);
		}
		PQclear(res);
	}
}

/* One measurement of method m on database db: first row and first batch. */
static void
measure(const char *db, const Method *m, const char *tag, double *first, double *batch)
{
	const char *keys[] = {"dbname", "application_name", NULL};
	const char *vals[] = {db, "bench_first_row", NULL};
	PGconn	   *conn = PQconnectdbParams(keys, vals, 1);
	double		t0;
	long		n = 0;
	int			i;

	if (PQstatus(conn) != CONNECTION_OK)
		fail(conn, "connection");
	if (tag != NULL)
	{
		char	   *lit = PQescapeLiteral(conn, tag, strlen(tag));
		char		sql[512];

		if (lit == NULL)
			fail(conn, "tag");
		snprintf(sql, sizeof(sql),
				 "DO $$BEGIN RAISE LOG 'bulk_status bench run %%', %s; END$$", lit);
		PQfreemem(lit);
		exec_ok(conn, sql);
	}
	if (strcmp(m->name, "cursor_fetch") == 0)
		exec_ok(conn, "SELECT bulk_status.cursor_close(name) FROM bulk_status.cursors"
				" WHERE name = '" CURSOR_NAME "'");
	*first = *batch = -1;

	t0 = now();
	for (i = 0; m->before[i] != NULL; i++)
		exec_ok(conn, m->before[i]);
	if (!PQsendQuery(conn, m->rows))
		fail(conn, m->rows);
	if (m->copy)
	{
		PGresult   *res = PQgetResult(conn);
		char	   *buf;
		int			len;

		if (PQresultStatus(res) != PGRES_COPY_OUT)
			fail(conn, m->rows);
		PQclear(res);
		while ((len = PQgetCopyData(conn, &buf, 0)) > 0)
		{
			PQfreemem(buf);
			if (++n == 1)
				*first = now() - t0;
			if (n == BATCH_ROWS)
			{
				*batch = now() - t0;
				cancel(conn);
				break;
			}
		}
		drain(conn);
	}
	else
	{
		PGresult   *res;

		if (!PQsetSingleRowMode(conn))
			fail(conn, "single-row mode");
		while ((res = PQgetResult(conn)) != NULL)
		{
			ExecStatusType st = PQresultStatus(res);

			if (st == PGRES_SINGLE_TUPLE)
			{
				if (++n == 1)
					*first = now() - t0;
				if (n == BATCH_ROWS)
				{
					*batch = now() - t0;
					/* a FETCH ends here by itself; anything else is stopped */
					if (m->before[0] == NULL)
						cancel(conn);
				}
			}
			else if (st != PGRES_TUPLES_OK && n < BATCH_ROWS)
				fail(conn, m->rows);
			PQclear(res);
		}
	}
	if (*first < 0 || *batch < 0)
	{
		fprintf(stderr, "first_row: %s returned only %ld rows\n", m->name, n);
		exit(1);
	}
	if (strcmp(m->name, "cursor_fetch") == 0)
		exec_ok(conn, "SELECT bulk_status.cursor_close('" CURSOR_NAME "')");
	PQfinish(conn);
}

/* qsort comparator for doubles. */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	const Method *m = NULL;
	double		firsts[MAX_REPEAT],
				batches[MAX_REPEAT];
	int			repeat = 3;
	int			i;

	if (argc < 3 || argc > 5)
	{
		fprintf(stderr, "usage: first_row DBNAME METHOD [REPEAT [TAG]]\n");
		return 2;
	}
	for (i = 0; i < (int) (sizeof(methods) / sizeof(methods[0])); i++)
		if (strcmp(argv[2], methods[i].name) == 0)
			m = &methods[i];
	if (m == NULL)
	{
		fprintf(stderr, "first_row: unknown method %s\n", argv[2]);
		return 2;
	}
	if (argc >= 4)
		repeat = atoi(argv[3]);
	if (repeat < 1 || repeat > MAX_REPEAT)
	{
		fprintf(stderr, "first_row: REPEAT must be 1 to %d\n", MAX_REPEAT);
		return 2;
	}
	for (i = 0; i < repeat; i++)
		measure(argv[1], m, argc == 5 ? argv[4] : NULL, &firsts[i], &batches[i]);
	qsort(firsts, repeat, sizeof(double), cmp_double);
	qsort(batches, repeat, sizeof(double), cmp_double);
	printf("%.6f %.6f\n", firsts[repeat / 2], batches[repeat / 2]);
	return 0;
}
