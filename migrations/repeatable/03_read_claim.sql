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
-- Internal (20_function_privileges.sql): integration_read_allowed reads it as its owner; service_role
-- (doctor, serve) asks what is set.
REVOKE ALL ON FUNCTION integration_read_claim() FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION integration_read_claim() TO service_role;

/**
 * true when the current caller may read under the read claim: none is set, or
 * request.jwt.claims holds the value at the path (a string, number or boolean whose JSON text is
 * the value, or an array with such an element). A setting without `=` or claims that are not JSON
 * read as "no": fail closed. The one check every read policy uses; src/store/read-claim.ts matches
 * claims the same way.
 * Policies call it as (SELECT integration_read_allowed()) so it runs once per query, not per row.
 */
CREATE OR REPLACE FUNCTION integration_read_allowed() RETURNS boolean
LANGUAGE plpgsql STABLE
SECURITY DEFINER -- reads integration_read_claim(), which callers may not; request.jwt.claims is the caller's session's
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

/**
 * true unless the caller is a bare `authenticated` without the read claim, to whom every read
 * policy yields nothing: roles outside authenticated (service_role, the owner), and the reader, read
 * by policies of their own (10_policies.sql). Not a guard of data — RLS is — but of work: readers
 * whose cost grows with their arguments rather than with the rows (integration_zone_pieces' labels
 * per hour or minute of the range) skip it for a caller who could read nothing anyway.
 */
CREATE OR REPLACE FUNCTION integration_may_read() RETURNS boolean
LANGUAGE sql STABLE
SET search_path FROM CURRENT
AS $$
  SELECT NOT pg_has_role('authenticated', 'USAGE') OR pg_has_role('service_role', 'USAGE')
      OR pg_has_role('integration_monitor_reader', 'USAGE') OR integration_read_allowed()
$$;

/**
 * The bound on integration_zone_pieces' work for [p_from, p_to) (finite ends) in p_width-wide
 * buckets: it labels every minute of the range for widths under an hour, every hour under a day,
 * every day otherwise. At most 210 days of minutes (302,400: 5,000 buckets of 59 minutes, the
 * widest the API's /timeseries asks for), 420 days of hours (/stats?interval=hour over its 400-day
 * maximum), 36,600 days (100 years) of days; beyond, 22023 saying so. false when the caller may
 * read nothing (integration_may_read): the pieces are then none at all.
 */
CREATE OR REPLACE FUNCTION integration_zone_work_ok(p_from timestamptz, p_to timestamptz, p_width interval) RETURNS boolean
LANGUAGE plpgsql STABLE
SET jit = off
SET search_path FROM CURRENT
AS $$
DECLARE
  w float8 := extract(epoch FROM p_width);
  unit float8 := CASE WHEN w < 3600 THEN 60 WHEN w < 86400 THEN 3600 ELSE 86400 END;
  cap float8 := CASE WHEN w < 3600 THEN 302400 WHEN w < 86400 THEN 10080 ELSE 36600 END;
  n float8;
BEGIN
  IF NOT integration_may_read() THEN
    RETURN false;
  END IF;
  IF p_from < p_to AND isfinite(p_from) AND isfinite(p_to) THEN
    n := ceil(extract(epoch FROM p_to - p_from) / unit);
    IF n > cap THEN
      RAISE EXCEPTION 'range too long for its bucket width: % % (at most %; use wider buckets or a shorter range)',
        n, CASE unit WHEN 60 THEN 'minutes at a width under an hour' WHEN 3600 THEN 'hours at a width under a day' ELSE 'days' END, cap
        USING ERRCODE = '22023';
    END IF;
  END IF;
  RETURN true;
END
$$;
REVOKE ALL ON FUNCTION integration_may_read(), integration_zone_work_ok(timestamptz, timestamptz, interval) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION integration_may_read(), integration_zone_work_ok(timestamptz, timestamptz, interval)
  TO authenticated, service_role, integration_monitor_reader;
