-- Fast lists at a million users (see BENCHMARKS.md).

-- `search`: a trigram index over `search_key` (already case-folded in Rust, so the tokenizer
-- must not fold again). A phrase of three or more characters matches exactly the rows that
-- contain it; shorter terms keep scanning with instr(). Kept in sync by triggers.
CREATE VIRTUAL TABLE users_search USING fts5(
    search_key, content = 'users', content_rowid = 'id', tokenize = 'trigram case_sensitive 1'
);
INSERT INTO users_search (users_search) VALUES ('rebuild');
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, search_key) VALUES (new.id, new.search_key);
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, search_key) VALUES ('delete', old.id, old.search_key);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF id, search_key ON users BEGIN
    INSERT INTO users_search (users_search, rowid, search_key) VALUES ('delete', old.id, old.search_key);
    INSERT INTO users_search (rowid, search_key) VALUES (new.id, new.search_key);
END;

-- The unfiltered count of `GET /api/users`: COUNT(*) walks the whole table (tens of
-- milliseconds at a million rows), this is one row.
CREATE TABLE user_count (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    n   BIGINT  NOT NULL
);
INSERT INTO user_count (one, n) SELECT 1, COUNT(*) FROM users;
CREATE TRIGGER user_count_insert AFTER INSERT ON users BEGIN
    UPDATE user_count SET n = n + 1;
END;
CREATE TRIGGER user_count_delete AFTER DELETE ON users BEGIN
    UPDATE user_count SET n = n - 1;
END;

-- `sort` and `filter` on names (each index ends with the rowid, i.e. the id tie-breaker);
-- `username` has its UNIQUE index, `is_active` users_is_active.
CREATE INDEX users_first_name ON users (first_name);
CREATE INDEX users_last_name ON users (last_name);
