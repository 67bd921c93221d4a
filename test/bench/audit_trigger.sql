-- bulk_status benchmark: an AFTER ROW audit trigger on files that records
-- (path, old status, new status) of every updated row.  Created in a clone
-- before the "with trigger" runs.
CREATE TABLE files_audit (
    path       text,
    old_status text,
    new_status text
);
CREATE FUNCTION files_audit_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO files_audit VALUES (NEW.path, OLD.status, NEW.status);
    RETURN NULL;
END
$$;
CREATE TRIGGER files_audit AFTER UPDATE ON files
    FOR EACH ROW EXECUTE FUNCTION files_audit_row();
