-- title: Organisation profiles for shared-challenge peer groups
-- description: What `ako peers --by challenge` clusters on, per organisation over the most
-- description: recent months of the lake: seclusion events per 1,000 bed days; the
-- description: Māori : non-Māori ratio of those rates; the median seclusion in hours; and
-- description: the trend, the yearly change of the monthly rate relative to its mean
-- description: (least squares). Null where the data cannot give a value.
-- unit: mixed: see each column
-- param: months int default 24 -- how many of the latest months to read
-- The window is a scalar subquery, which the engine evaluates once, not a join with
-- `idx`, which became a nested-loop join over millions of episodes.
WITH idx AS (
    SELECT max(CAST(substr(month, 1, 4) AS BIGINT) * 12 + CAST(substr(month, 6, 2) AS BIGINT)) AS last
    FROM inpatient_activity
),
activity AS (
    SELECT a.org_code,
           a.month,
           sum(a.bed_days) AS bed_days,
           sum(CASE WHEN a.ethnicity = 'maori' THEN a.bed_days ELSE 0 END) AS maori_bed_days
    FROM inpatient_activity a
    WHERE CAST(substr(a.month, 1, 4) AS BIGINT) * 12 + CAST(substr(a.month, 6, 2) AS BIGINT) > (SELECT last FROM idx) - $months
    GROUP BY a.org_code, a.month
),
events AS (
    SELECT org_code,
           month,
           count(*) AS events,
           sum(CASE WHEN ethnicity = 'maori' THEN 1 ELSE 0 END) AS maori_events
    FROM episodes
    WHERE practice = 'seclusion'
    GROUP BY org_code, month
),
monthly AS (
    SELECT a.org_code,
           CAST(substr(a.month, 1, 4) AS BIGINT) * 12 + CAST(substr(a.month, 6, 2) AS BIGINT) AS month_index,
           a.bed_days,
           a.maori_bed_days,
           coalesce(e.events, 0) AS events,
           coalesce(e.maori_events, 0) AS maori_events
    FROM activity a
    LEFT JOIN events e ON e.org_code = a.org_code AND e.month = a.month
),
durations AS (
    SELECT e.org_code,
           median(CAST(CAST(e.end_time AS BIGINT) - CAST(e.start_time AS BIGINT) AS DOUBLE) / 3600000000.0) AS median_hours
    FROM episodes e
    WHERE e.practice = 'seclusion' AND e.end_time IS NOT NULL
      AND CAST(substr(e.month, 1, 4) AS BIGINT) * 12 + CAST(substr(e.month, 6, 2) AS BIGINT) > (SELECT last FROM idx) - $months
    GROUP BY e.org_code
),
rates AS (
    SELECT org_code,
           sum(events) AS events,
           sum(bed_days) AS bed_days,
           CAST(sum(events) AS DOUBLE) * 1000.0 / CAST(nullif(sum(bed_days), 0) AS DOUBLE) AS rate,
           (CAST(sum(maori_events) AS DOUBLE) / CAST(nullif(sum(maori_bed_days), 0) AS DOUBLE))
             / (CAST(nullif(sum(events) - sum(maori_events), 0) AS DOUBLE)
                / CAST(nullif(sum(bed_days) - sum(maori_bed_days), 0) AS DOUBLE)) AS maori_ratio,
           regr_slope(CAST(events AS DOUBLE) * 1000.0 / CAST(nullif(bed_days, 0) AS DOUBLE), CAST(month_index AS DOUBLE))
             * 12.0
             / avg(CAST(events AS DOUBLE) * 1000.0 / CAST(nullif(bed_days, 0) AS DOUBLE)) AS trend_per_year
    FROM monthly
    GROUP BY org_code
)
SELECT o.org_code,
       o.population,
       o.tags,
       r.events,
       r.bed_days,
       r.rate,
       r.maori_ratio,
       d.median_hours,
       r.trend_per_year
FROM organisations o
LEFT JOIN rates r ON r.org_code = o.org_code
LEFT JOIN durations d ON d.org_code = o.org_code
ORDER BY o.org_code
