-- The unfiltered count of `GET /api/users` without COUNT(*), which reads every row (a
-- hundred milliseconds and more at a million users). Statement-level triggers append one row
-- per INSERT or DELETE statement on users, holding the number of rows it added or removed;
-- the count is their sum, committed with the users it counts. Not one counter row updated by
-- every insert: a bulk import in one transaction would build a chain of versions of that row
-- as long as the import. The store folds the rows into one after its own user writes
-- (`fold_user_count`), so the table stays a few rows long.
CREATE TABLE user_count_delta (
    id BIGSERIAL PRIMARY KEY,
    n  BIGINT NOT NULL
);
INSERT INTO user_count_delta (n) SELECT COUNT(*) FROM users;

CREATE FUNCTION user_count_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_count_delta (n) SELECT COUNT(*) FROM added HAVING COUNT(*) > 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION user_count_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_count_delta (n) SELECT -COUNT(*) FROM removed HAVING COUNT(*) > 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION user_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM user_count_delta;
    RETURN NULL;
END
$$;

CREATE TRIGGER user_count_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE PROCEDURE user_count_added();
CREATE TRIGGER user_count_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE PROCEDURE user_count_removed();
CREATE TRIGGER user_count_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE PROCEDURE user_count_truncated();
