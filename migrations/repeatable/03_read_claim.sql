-- The read claim: which `authenticated` callers may read (first created by 008; see docs/schema.md
-- "Read policies and the read claim", and 10_policies.sql for where it is used).

SELECT set_config('search_path', format('%I, pg_temp', current_schema()), true);

/** The read claim in force: intmon.read_claim when set, else integration_monitor_settings; NULL: none. */
CREATE OR REPLACE FUNCTION integration_read_claim() RETURNS text
LANGUAGE sql STABLE
SECURITY DEFINER -- reads the owner-only settings table
SET search_path FROM CURRENT
AS $$
  SELECT coalesce(nullif(btrim(current_setting('intmon.read_claim', true)), ''),
                  (SELECT nullif(btrim(s.read_claim), '') FROM integration_monitor_settings s))
$$;
REVOKE ALL ON FUNCTION integration_read_claim() FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_read_claim() TO authenticated, service_role;

/**
 * true when the current caller may read under the read claim: none is set, or
 * request.jwt.claims holds the value at the path (a string, number or boolean whose JSON text is
 * the value, or an array with such an element). A setting without `=` or claims that are not JSON
 * read as "no": fail closed. The one check every read policy uses; src/api/read-claim.ts matches
 * claims the same way.
 * Policies call it as (SELECT integration_read_allowed()) so it runs once per query, not per row.
 */
CREATE OR REPLACE FUNCTION integration_read_allowed() RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $$
DECLARE
  requirement text := coalesce(integration_read_claim(), '');
  eq integer := strpos(requirement, '=');
  want text;
  got jsonb;
BEGIN
  IF requirement = '' THEN
    RETURN true; -- unset: the seed's behaviour
  END IF;
  IF eq < 2 OR btrim(left(requirement, eq - 1)) = '' THEN
    RETURN false;
  END IF;
  want := btrim(substr(requirement, eq + 1));
  BEGIN
    got := nullif(current_setting('request.jwt.claims', true), '')::jsonb
           #> string_to_array(btrim(left(requirement, eq - 1)), '.');
  EXCEPTION WHEN invalid_text_representation THEN
    RETURN false;
  END;
  IF got IS NULL THEN
    RETURN false;
  END IF;
  IF jsonb_typeof(got) = 'array' THEN
    RETURN EXISTS (SELECT 1 FROM jsonb_array_elements(got) e
                   WHERE jsonb_typeof(e) IN ('string', 'number', 'boolean') AND e #>> '{}' = want);
  END IF;
  RETURN jsonb_typeof(got) IN ('string', 'number', 'boolean') AND got #>> '{}' = want;
END
$$;
REVOKE ALL ON FUNCTION integration_read_allowed() FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_read_allowed() TO authenticated, service_role;
