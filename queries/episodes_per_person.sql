-- title: Seclusion episodes per person secluded
-- description: Seclusion episodes in the period divided by the people secluded in it.
-- description: Per organisation, peer group or jurisdiction, by month, quarter, calendar or financial year.
-- description: A mean, so no interval.
-- unit: episodes per person
-- ci: none
-- numerator: episodes -- seclusion episodes of the people secluded in the period
-- denominator: people -- distinct people secluded in the period
-- param: org text default '' -- organisation code; at level peer_group, that organisation's group; empty for all
-- param: level text default org in org|peer_group|national -- what a row is about
-- param: grouping text default size in size|challenge|config -- the peer grouping (ako peers --by)
-- param: grain text default month in month|quarter|year|financial_year -- length of a period (a financial year runs July to June: 2024/25)
WITH mine AS (
    SELECT peer_group FROM peer_groups WHERE org_code = $org AND grouping = $grouping
),
people AS (
    SELECT org_code,
           CASE $grain
               WHEN 'quarter' THEN substr(month, 1, 4) || '-Q'
                   || CAST((CAST(substr(month, 6, 2) AS INT) + 2) / 3 AS VARCHAR)
               WHEN 'year' THEN substr(month, 1, 4)
               WHEN 'financial_year' THEN
                   CASE WHEN CAST(substr(month, 6, 2) AS INT) >= 7
                        THEN substr(month, 1, 4) || '/'
                             || lpad(CAST((CAST(substr(month, 1, 4) AS INT) + 1) % 100 AS VARCHAR), 2, '0')
                        ELSE CAST(CAST(substr(month, 1, 4) AS INT) - 1 AS VARCHAR) || '/' || substr(month, 3, 2)
                   END
               ELSE month
           END AS period,
           person_key,
           count(*) AS episodes
    FROM episodes
    WHERE practice = 'seclusion'
    GROUP BY 1, 2, 3
),
rows AS (
    SELECT p.*, o.jurisdiction, g.peer_group
    FROM people p
    LEFT JOIN peer_groups g ON g.org_code = p.org_code AND g.grouping = $grouping
    LEFT JOIN organisations o ON o.org_code = p.org_code
    WHERE $org = ''
       OR ($level = 'org' AND p.org_code = $org)
       OR ($level = 'peer_group' AND g.peer_group IN (SELECT peer_group FROM mine))
       OR $level = 'national'
)
SELECT CASE WHEN $level <> 'peer_group' THEN jurisdiction END AS jurisdiction,
       CASE WHEN $level = 'org' THEN org_code END AS org_code,
       CASE WHEN $level <> 'national' THEN peer_group END AS peer_group,
       period,
       sum(episodes) AS episodes,
       count(*) AS people
FROM rows
GROUP BY 1, 2, 3, period
ORDER BY 1, 2, 3, period
