-- title: Events per 1,000 bed days
-- description: AIHW definition: episodes of a practice starting in the month divided
-- description: by occupied bed days in the month (all settings and ethnic groups of
-- description: inpatient_activity), times 1,000, per organisation and month. Null where
-- description: the month's extract never arrived or there were no bed days.
-- unit: events per 1,000 bed days
-- param: practice text default seclusion -- practice: seclusion, physical_restraint, mechanical_restraint, chemical_restraint, environmental_restraint
-- param: org text default '' -- organisation code; empty for every organisation
WITH bed_days AS (
    SELECT org_code, month, sum(bed_days) AS bed_days
    FROM inpatient_activity
    WHERE ($org = '' OR org_code = $org)
    GROUP BY org_code, month
),
events AS (
    SELECT org_code, month, count(*) AS events
    FROM episodes
    WHERE practice = $practice AND ($org = '' OR org_code = $org)
    GROUP BY org_code, month
),
frame AS (
    SELECT b.org_code, b.month, b.bed_days,
           coalesce(s.received_date IS NOT NULL, false) AS extract_received
    FROM bed_days b
    LEFT JOIN submissions s ON s.org_code = b.org_code AND s.month = b.month
)
SELECT f.org_code,
       f.month AS period,
       f.extract_received,
       CASE WHEN f.extract_received THEN coalesce(e.events, 0) END AS numerator,
       f.bed_days AS denominator,
       CASE WHEN f.extract_received AND f.bed_days > 0
            THEN CAST(coalesce(e.events, 0) AS DOUBLE) * 1000.0 / CAST(f.bed_days AS DOUBLE)
       END AS value
FROM frame f
LEFT JOIN events e ON e.org_code = f.org_code AND e.month = f.month
ORDER BY f.org_code, f.month
