-- bulk_status benchmark: the hand-written alternative to
-- bulk_status.transition, as a careful user would write it in PL/pgSQL:
-- a keyset loop that selects the next batch_size keys after the last one
-- among the rows with the from-status (no OFFSET, no FOR-IN-SELECT over the
-- whole table, which would be materialised at the first COMMIT), updates
-- them by key and commits.  Created in each clone before the run.
CREATE OR REPLACE PROCEDURE bench_keyset_loop(from_status text, to_status text,
                                              batch_size integer DEFAULT 10000,
                                              INOUT rows_changed bigint DEFAULT 0)
LANGUAGE plpgsql AS $$
DECLARE
    last_key text := '';      -- below every path ('' sorts first)
    keys     text[];
    n        bigint;
BEGIN
    rows_changed := 0;
    LOOP
        SELECT array_agg(path ORDER BY path) INTO keys
          FROM (SELECT path FROM files
                 WHERE status = from_status AND path > last_key
                 ORDER BY path
                 LIMIT batch_size) AS next_keys;
        EXIT WHEN keys IS NULL;
        UPDATE files SET status = to_status
         WHERE path = ANY (keys) AND status = from_status;
        GET DIAGNOSTICS n = ROW_COUNT;
        rows_changed := rows_changed + n;
        last_key := keys[cardinality(keys)];
        COMMIT;
    END LOOP;
END
$$;
