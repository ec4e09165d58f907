-- title: People secluded per 100,000 population, Indigenous and non-Indigenous, Australia
-- description: Distinct people secluded in the financial year (July to June) per
-- description: 100,000 population served, with 95% Poisson limits, for Aboriginal and
-- description: Torres Strait Islander people (indigenous), non-Indigenous people and all,
-- description: and, as a data-quality figure, the people whose status was not stated.
-- description: Australian services only: Indigenous status is their code set, never
-- description: added to New Zealand ethnicity. A person is Indigenous if any episode in
-- description: the year records Aboriginal, Torres Strait Islander or both, and
-- description: non-Indigenous if none does and one records neither. People whose status
-- description: was never stated are counted in their own row (not_stated, with no
-- description: population, so no rate) and in all, over the whole population; they are
-- description: in neither group's rate, which both read low by up to their share (see
-- description: indigenous_status_not_stated for the percentage). Per organisation,
-- description: peer group or jurisdiction; an organisation's year with a month whose
-- description: extract never arrived has no count.
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
           CASE WHEN bool_or(indigenous_status IN ('aboriginal', 'torres_strait_islander', 'both')) THEN 'indigenous'
                WHEN bool_or(indigenous_status = 'neither') THEN 'non_indigenous'
                ELSE 'not_stated' END AS indigenous_status
    FROM episodes
    WHERE practice = 'seclusion' AND indigenous_status IS NOT NULL
    GROUP BY 1, 2, 3
),
-- One pass over `people`: DataFusion computes a CTE as often as it is named, so the
-- groups are counted side by side and unpivoted, not as a union of two aggregates.
per_year AS (
    SELECT org_code, fy,
           count(*) FILTER (WHERE indigenous_status = 'indigenous') AS indigenous,
           count(*) FILTER (WHERE indigenous_status = 'non_indigenous') AS non_indigenous,
           count(*) FILTER (WHERE indigenous_status = 'not_stated') AS not_stated,
           count(*) AS all_people
    FROM people GROUP BY 1, 2
),
counts AS (
    SELECT c.org_code, c.fy, k.indigenous_status,
           CASE k.indigenous_status WHEN 'indigenous' THEN c.indigenous
                WHEN 'non_indigenous' THEN c.non_indigenous
                WHEN 'not_stated' THEN c.not_stated ELSE c.all_people END AS people
    FROM per_year c
    CROSS JOIN (VALUES ('indigenous'), ('non_indigenous'), ('not_stated'), ('all')) AS k(indigenous_status)
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
    SELECT org_code, year AS fy,
           CASE WHEN indigenous_status = 'neither' THEN 'non_indigenous' ELSE 'indigenous' END AS indigenous_status,
           sum(population) AS population
    FROM population
    WHERE indigenous_status IN ('aboriginal', 'torres_strait_islander', 'both', 'neither')
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT org_code, year AS fy, 'all' AS indigenous_status, sum(population) AS population
    FROM population WHERE indigenous_status IS NOT NULL GROUP BY 1, 2
    UNION ALL
    -- The ABS estimates assign everyone a status, so "not stated" has no population.
    SELECT org_code, year AS fy, 'not_stated' AS indigenous_status, CAST(NULL AS BIGINT) AS population
    FROM population WHERE indigenous_status IS NOT NULL GROUP BY 1, 2
),
mine AS (
    SELECT peer_group FROM peer_groups WHERE org_code = $org AND grouping = $grouping
),
rows AS (
    SELECT y.org_code, o.jurisdiction, g.peer_group, p.indigenous_status,
           CAST(y.fy - 1 AS VARCHAR) || '/' || substr(CAST(y.fy AS VARCHAR), 3, 2) AS period,
           y.received,
           CASE WHEN y.received THEN coalesce(c.people, 0) END AS people,
           p.population
    FROM years y
    JOIN pop p ON p.org_code = y.org_code AND p.fy = y.fy
    LEFT JOIN counts c ON c.org_code = y.org_code AND c.fy = y.fy AND c.indigenous_status = p.indigenous_status
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
       indigenous_status,
       period,
       bool_and(received) AS extract_received,
       CASE WHEN $level = 'org' AND NOT bool_and(received) THEN NULL ELSE sum(people) END AS people,
       CASE WHEN $level = 'org' THEN sum(population)
            ELSE sum(CASE WHEN received THEN population END) END AS population
FROM keyed
GROUP BY jurisdiction_key, org_key, group_key, indigenous_status, period
ORDER BY jurisdiction_key, org_key, group_key, period, indigenous_status
