"""Row-level security and database roles, as SQL the migrations execute (Postgres only).

Roles (Supabase has the first two; on plain Postgres the first migration makes them):
- `authenticated`: a signed-in user's transactions; sees only rows whose owner
  column equals `auth.uid()`, read from `request.jwt.claims`.
- `service_role`: jobs, admin and visitor work; bypasses RLS.
- the app's login role (`APP_DB_ROLE`): no privileges of its own (NOINHERIT);
  it may only `SET ROLE` to one of the two above.
"""

from __future__ import annotations

ROLES_AND_UID = """
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
  END IF;
END $$;
CREATE SCHEMA IF NOT EXISTS auth;
DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'auth' AND p.proname = 'uid'
  ) THEN
    CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $f$
      SELECT nullif(coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
      ), '')::uuid
    $f$;
  END IF;
END $$;
GRANT USAGE ON SCHEMA auth TO authenticated, service_role;
GRANT USAGE ON SCHEMA public TO authenticated, service_role;
"""


def app_role(name: str, password: str) -> str:
    """Create the app's login role (password set at creation), which can only switch to the two roles.

    Roles are shared by every database of the cluster, so nothing is altered that is already
    right (concurrent migrations of other databases would collide on the same catalog rows).
    """
    role = _literal(name)
    return f"""
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {role}) THEN
    EXECUTE format('CREATE ROLE %I LOGIN NOINHERIT PASSWORD %L', {role}, {_literal(password)});
  ELSIF EXISTS (
    SELECT 1 FROM pg_roles WHERE rolname = {role} AND (rolsuper OR rolbypassrls OR rolinherit OR NOT rolcanlogin)
  ) THEN
    EXECUTE format('ALTER ROLE %I LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS', {role});
  END IF;
  IF NOT pg_has_role({role}, 'authenticated', 'MEMBER') THEN
    EXECUTE format('GRANT authenticated TO %I', {role});
  END IF;
  IF NOT pg_has_role({role}, 'service_role', 'MEMBER') THEN
    EXECUTE format('GRANT service_role TO %I', {role});
  END IF;
END $$;
"""


def service_table(table: str) -> str:
    """A table only the service touches (waitlist, audit log, ...)."""
    return f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO service_role;"


def readable_table(table: str) -> str:
    """A table of public facts (policy versions): users read, the service writes."""
    return service_table(table) + f"\nGRANT SELECT ON {table} TO authenticated;"


def user_owned_table(table: str, owner_column: str = "user_id") -> str:
    """RLS on, one policy per operation keyed on the owner column, and the grants."""
    own = f"(SELECT auth.uid()) = {owner_column}"
    return f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
CREATE POLICY {table}_select_own ON {table} FOR SELECT TO authenticated USING ({own});
CREATE POLICY {table}_insert_own ON {table} FOR INSERT TO authenticated WITH CHECK ({own});
CREATE POLICY {table}_update_own ON {table} FOR UPDATE TO authenticated USING ({own}) WITH CHECK ({own});
CREATE POLICY {table}_delete_own ON {table} FOR DELETE TO authenticated USING ({own});
GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO authenticated;
{service_table(table)}
"""


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
