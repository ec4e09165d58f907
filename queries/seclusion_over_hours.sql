-- title: Share of seclusions longer than a number of hours
-- description: Ended seclusion episodes lasting longer than `hours` (3 and 24 are the
-- description: programme's thresholds) as a percentage of ended seclusion episodes, with
-- description: 95% Wilson limits. Episodes still open at extract are left out. Per
-- description: organisation, peer group or jurisdiction, by month, quarter, calendar or financial year.
-- unit: % of seclusions
-- ci: wilson
-- multiplier: 100
-- numerator: episodes_over -- completed seclusions longer than the threshold
-- denominator: episodes -- completed seclusions in the period
-- param: hours float default 3 -- the threshold in hours
-- param: org text default '' -- organisation code; at level peer_group, that organisation's group; empty for all
-- param: level text default org in org|peer_group|national -- what a row is about
-- param: grouping text default size in size|challenge|config -- the peer grouping (ako peers --by)
-- param: grain text default month in month|quarter|year|financial_year -- length of a period (a financial year runs July to June: 2024/25)
WITH mine AS (
    SELECT peer_group FROM peer_groups WHERE org_code = $org AND grouping = $grouping
),
rows AS (
    SELECT e.org_code, o.jurisdiction, g.peer_group,
           CASE $grain
               WHEN 'quarter' THEN substr(e.month, 1, 4) || '-Q'
                   || CAST((CAST(substr(e.month, 6, 2) AS INT) + 2) / 3 AS VARCHAR)
               WHEN 'year' THEN substr(e.month, 1, 4)
               WHEN 'financial_year' THEN
                   CASE WHEN CAST(substr(e.month, 6, 2) AS INT) >= 7
                        THEN substr(e.month, 1, 4) || '/'
                             || lpad(CAST((CAST(substr(e.month, 1, 4) AS INT) + 1) % 100 AS VARCHAR), 2, '0')
                        ELSE CAST(CAST(substr(e.month, 1, 4) AS INT) - 1 AS VARCHAR) || '/' || substr(e.month, 3, 2)
                   END
               ELSE e.month
           END AS period,
           CAST(CAST(e.end_time AS BIGINT) - CAST(e.start_time AS BIGINT) AS DOUBLE) / 3600000000.0 AS hours
    FROM episodes e
    LEFT JOIN peer_groups g ON g.org_code = e.org_code AND g.grouping = $grouping
    LEFT JOIN organisations o ON o.org_code = e.org_code
    WHERE e.practice = 'seclusion' AND e.end_time IS NOT NULL
      AND ($org = ''
           OR ($level = 'org' AND e.org_code = $org)
           OR ($level = 'peer_group' AND g.peer_group IN (SELECT peer_group FROM mine))
           OR $level = 'national')
)
SELECT CASE WHEN $level <> 'peer_group' THEN jurisdiction END AS jurisdiction,
       CASE WHEN $level = 'org' THEN org_code END AS org_code,
       CASE WHEN $level <> 'national' THEN peer_group END AS peer_group,
       period,
       sum(CASE WHEN hours > $hours THEN 1 ELSE 0 END) AS episodes_over,
       count(*) AS episodes
FROM rows
GROUP BY 1, 2, 3, period
ORDER BY 1, 2, 3, period
