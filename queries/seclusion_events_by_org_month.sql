-- title: Events, people and hours per organisation and month
-- description: Episodes of a practice that started in each month (the organisation's
-- description: local time), the distinct people they involved and the hours they lasted.
-- description: Months whose extract never arrived have null counts, not zero, so a gap
-- description: in the data is never read as a month without restrictive practice.
-- description: Ongoing episodes (no end yet) count as events and add no hours.
-- unit: events
-- param: practice text default seclusion -- practice: seclusion, physical_restraint, mechanical_restraint, chemical_restraint, environmental_restraint
-- param: org text default '' -- organisation code; empty for every organisation
WITH frame AS (
    SELECT org_code, month, received_date IS NOT NULL AS extract_received
    FROM submissions
    WHERE ($org = '' OR org_code = $org)
),
counts AS (
    SELECT org_code,
           month,
           count(*) AS events,
           count(DISTINCT person_key) AS people,
           sum(to_unixtime(end_time) - to_unixtime(start_time)) / 3600.0 AS hours,
           count(*) FILTER (WHERE end_time IS NULL) AS ongoing
    FROM episodes
    WHERE practice = $practice AND ($org = '' OR org_code = $org)
    GROUP BY org_code, month
)
SELECT f.org_code,
       f.month AS period,
       f.extract_received,
       CASE WHEN f.extract_received THEN coalesce(c.events, 0) END AS events,
       CASE WHEN f.extract_received THEN coalesce(c.people, 0) END AS people,
       CASE WHEN f.extract_received THEN round(coalesce(c.hours, 0.0), 2) END AS hours,
       CASE WHEN f.extract_received THEN coalesce(c.ongoing, 0) END AS ongoing
FROM frame f
LEFT JOIN counts c ON c.org_code = f.org_code AND c.month = f.month
ORDER BY f.org_code, f.month
