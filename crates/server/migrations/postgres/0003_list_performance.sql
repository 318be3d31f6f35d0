-- Fast lists at a million users (see BENCHMARKS.md).

-- `search`: a pg_trgm GIN index over `search_key` (already case-folded in Rust); searches
-- of three or more characters compile to `search_key LIKE '%term%'`, which it serves.
-- The extension goes into `public` when it can (so that it outlives any one schema), else
-- into the current schema; without pg_trgm the index is skipped and searches scan.
DO $$
DECLARE
    ext_schema name;
BEGIN
    SELECT n.nspname INTO ext_schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_trgm';
    IF ext_schema IS NULL THEN
        BEGIN
            CREATE EXTENSION pg_trgm SCHEMA public;
        EXCEPTION WHEN OTHERS THEN
            BEGIN
                CREATE EXTENSION pg_trgm;
            EXCEPTION WHEN OTHERS THEN
                RAISE WARNING 'pg_trgm is not available (%): search will scan users', SQLERRM;
                RETURN;
            END;
        END;
        SELECT n.nspname INTO ext_schema
          FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_trgm';
    END IF;
    EXECUTE format('CREATE INDEX users_search_trgm ON users USING gin (search_key %I.gin_trgm_ops)', ext_schema);
END
$$;

-- `sort` and `filter` compare names byte-wise (COLLATE "C"); these indexes use that order and
-- end with the id tie-breaker.
CREATE INDEX users_username_c ON users (username COLLATE "C", id);
CREATE INDEX users_first_name_c ON users (first_name COLLATE "C", id);
CREATE INDEX users_last_name_c ON users (last_name COLLATE "C", id);
