-- title: People secluded per 100,000 population, Māori and non-Māori
-- description: Distinct people secluded in the financial year (July to June) per
-- description: 100,000 population served, with 95% Poisson limits, for Māori, non-Māori
-- description: and all. A person is Māori if any of their episodes records Māori
-- description: (prioritised ethnicity, New Zealand's code set: Australian services count
-- description: only in all; indigenous_people_secluded_per_100000 gives their Indigenous
-- description: and non-Indigenous rates). Per organisation, peer group or jurisdiction; an
-- description: organisation's year with a month whose extract never arrived has no count.
-- description: Crude rates: see people_secluded_dsr for age-standardised ones.
-- unit: people per 100,000 population
-- ci: poisson
-- multiplier: 100000
-- numerator: people -- distinct people secluded in the year
-- denominator: population -- population served
-- param: org text default '' -- organisation code; at level peer_group, that organisation's group; empty for all
-- param: level text default org in org|peer_group|national -- what a row is about
-- param: grouping text default size in size|challenge|config -- the peer grouping (ako peers --by)
WITH people AS (
    SELECT org_code,
           CAST(substr(month, 1, 4) AS BIGINT)
               + CASE WHEN CAST(substr(month, 6, 2) AS BIGINT) >= 7 THEN 1 ELSE 0 END AS fy,
           person_key,
           bool_or(ethnicity = 'maori') AS maori
    FROM episodes
    WHERE practice = 'seclusion'
    GROUP BY 1, 2, 3
),
-- One pass over `people`: DataFusion computes a CTE as often as it is named, so the
-- groups are counted side by side and unpivoted, not as a union of two aggregates.
per_year AS (
    SELECT org_code, fy,
           count(*) FILTER (WHERE maori) AS maori,
           count(*) FILTER (WHERE NOT maori) AS non_maori,
           count(*) AS all_people
    FROM people GROUP BY 1, 2
),
counts AS (
    SELECT c.org_code, c.fy, k.ethnicity,
           CASE k.ethnicity WHEN 'maori' THEN c.maori WHEN 'non_maori' THEN c.non_maori
                ELSE c.all_people END AS people
    FROM per_year c
    CROSS JOIN (VALUES ('maori'), ('non_maori'), ('all')) AS k(ethnicity)
),
years AS (
    SELECT org_code,
           CAST(substr(month, 1, 4) AS BIGINT)
               + CASE WHEN CAST(substr(month, 6, 2) AS BIGINT) >= 7 THEN 1 ELSE 0 END AS fy,
           bool_and(received_date IS NOT NULL) AS received
    FROM submissions
    GROUP BY 1, 2
),
pop AS (
    SELECT org_code, year AS fy, CASE WHEN ethnicity = 'maori' THEN 'maori' ELSE 'non_maori' END AS ethnicity,
           sum(population) AS population
    FROM population WHERE ethnicity IS NOT NULL GROUP BY 1, 2, 3
    UNION ALL
    SELECT org_code, year AS fy, 'all' AS ethnicity, sum(population) AS population
    FROM population GROUP BY 1, 2
),
mine AS (
    SELECT peer_group FROM peer_groups WHERE org_code = $org AND grouping = $grouping
),
rows AS (
    SELECT y.org_code, o.jurisdiction, g.peer_group, p.ethnicity,
           CAST(y.fy - 1 AS VARCHAR) || '/' || substr(CAST(y.fy AS VARCHAR), 3, 2) AS period,
           y.received,
           CASE WHEN y.received THEN coalesce(c.people, 0) END AS people,
           p.population
    FROM years y
    JOIN pop p ON p.org_code = y.org_code AND p.fy = y.fy
    LEFT JOIN counts c ON c.org_code = y.org_code AND c.fy = y.fy AND c.ethnicity = p.ethnicity
    LEFT JOIN peer_groups g ON g.org_code = y.org_code AND g.grouping = $grouping
    LEFT JOIN organisations o ON o.org_code = y.org_code
    WHERE $org = ''
       OR ($level = 'org' AND y.org_code = $org)
       OR ($level = 'peer_group' AND g.peer_group IN (SELECT peer_group FROM mine))
       OR $level = 'national'
),
keyed AS (
    SELECT CASE WHEN $level = 'org' THEN org_code END AS org_key,
           CASE WHEN $level <> 'national' THEN peer_group END AS group_key,
           CASE WHEN $level <> 'peer_group' THEN jurisdiction END AS jurisdiction_key,
           *
    FROM rows
)
SELECT jurisdiction_key AS jurisdiction,
       org_key AS org_code,
       group_key AS peer_group,
       ethnicity,
       period,
       bool_and(received) AS extract_received,
       CASE WHEN $level = 'org' AND NOT bool_and(received) THEN NULL ELSE sum(people) END AS people,
       CASE WHEN $level = 'org' THEN sum(population)
            ELSE sum(CASE WHEN received THEN population END) END AS population
FROM keyed
GROUP BY jurisdiction_key, org_key, group_key, ethnicity, period
ORDER BY jurisdiction_key, org_key, group_key, period, ethnicity
