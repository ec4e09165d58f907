-- title: Data completeness and timeliness per organisation and month
-- description: For every organisation-month the collection expects: whether the extract
-- description: arrived (`on_time`, `late`, `missing`), how many days after the due date,
-- description: the episodes in the lake for the month, whether inpatient activity (the
-- description: denominator) was supplied, and the rows read and rejected at ingest in the
-- description: extracts whose period covers the month, with the rejected share. (A rejected
-- description: row may have no readable date, so it is counted against every month of its
-- description: extract.)
-- unit: organisation-months
-- param: org text default '' -- organisation code; empty for every organisation
-- param: status text default '' -- only this status (on_time, late, missing); empty for all
WITH expected AS (
    SELECT org_code,
           month,
           due_date,
           received_date,
           CASE WHEN received_date IS NULL THEN 'missing'
                WHEN received_date > due_date THEN 'late'
                ELSE 'on_time' END AS status
    FROM submissions
    WHERE ($org = '' OR org_code = $org)
),
episode_counts AS (
    SELECT org_code, month, count(*) AS episodes FROM episodes GROUP BY org_code, month
),
activity AS (
    SELECT org_code, month, sum(bed_days) AS bed_days FROM inpatient_activity GROUP BY org_code, month
),
files AS (
    SELECT DISTINCT extract_id, org_code, period_from, period_to, rows_read, rows_rejected
    FROM extracts
    WHERE kind = 'extract'
),
ingest AS (
    SELECT x.org_code, x.month, sum(f.rows_read) AS rows_read, sum(f.rows_rejected) AS rows_rejected
    FROM expected x
    JOIN files f ON f.org_code = x.org_code AND f.period_from <= x.month AND x.month <= f.period_to
    GROUP BY x.org_code, x.month
)
SELECT x.org_code,
       x.month AS period,
       x.status,
       x.due_date,
       x.received_date,
       CASE WHEN x.received_date IS NOT NULL
            THEN CAST(x.received_date - x.due_date AS BIGINT) END AS days_late,
       coalesce(e.episodes, 0) AS episodes,
       a.bed_days IS NOT NULL AS activity_supplied,
       coalesce(i.rows_read, 0) AS rows_read,
       coalesce(i.rows_rejected, 0) AS rows_rejected,
       round(100.0 * CAST(i.rows_rejected AS DOUBLE) / CAST(nullif(i.rows_read, 0) AS DOUBLE), 2) AS pct_rejected
FROM expected x
LEFT JOIN episode_counts e ON e.org_code = x.org_code AND e.month = x.month
LEFT JOIN activity a ON a.org_code = x.org_code AND a.month = x.month
LEFT JOIN ingest i ON i.org_code = x.org_code AND i.month = x.month
WHERE ($status = '' OR x.status = $status)
ORDER BY x.org_code, x.month
