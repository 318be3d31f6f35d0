-- Blocked accounts (issue 15): when an administrator blocked the account (NULL: not blocked).
-- A blocked account keeps its data and memberships but no credential of it authenticates;
-- unlike `is_active`, which CVAT's serializers let administrators edit, only the block and
-- unblock operations change it.
ALTER TABLE users ADD COLUMN blocked_date BIGINT;
