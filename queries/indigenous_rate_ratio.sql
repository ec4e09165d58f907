-- title: Indigenous : non-Indigenous rate ratio of people secluded, Australia
-- description: The rate of Aboriginal and Torres Strait Islander people secluded per
-- description: Indigenous population over the rate of non-Indigenous people secluded
-- description: per non-Indigenous population, per financial year, with exact conditional
-- description: 95% limits (lower_95, upper_95) and Wald limits on the log scale. A ratio
-- description: above 1 means Indigenous people are secluded more. Australian services
-- description: only: Indigenous status is their code set, never added to New Zealand
-- description: ethnicity. A person is Indigenous if any episode in the year records
-- description: Aboriginal, Torres Strait Islander or both; non-Indigenous if none does and
-- description: one records neither. People whose status was never stated are in neither
-- description: group (so both rates are low by up to their share, which
-- description: indigenous_status_not_stated reports); the populations are the ABS-style
-- description: catchment estimates, which have no "not stated". Crude rates; per
-- description: organisation, peer group or jurisdiction. An organisation's year with a
-- description: missing month has none.
-- unit: rate ratio
-- ci: rate_ratio
-- numerator: indigenous_people -- distinct Indigenous people secluded
-- denominator: indigenous_population -- Indigenous population served
-- comparison_numerator: non_indigenous_people -- distinct non-Indigenous people secluded
-- comparison_denominator: non_indigenous_population -- non-Indigenous population served
-- param: org text default '' -- organisation code; at level peer_group, that organisation's group; empty for all
-- param: level text default org in org|peer_group|national -- what a row is about
-- param: grouping text default size in size|challenge|config -- the peer grouping (ako peers --by)
WITH people AS (
    SELECT org_code,
           CAST(substr(month, 1, 4) AS BIGINT)
               + CASE WHEN CAST(substr(month, 6, 2) AS BIGINT) >= 7 THEN 1 ELSE 0 END AS fy,
           person_key,
           bool_or(indigenous_status IN ('aboriginal', 'torres_strait_islander', 'both')) AS indigenous,
           bool_or(indigenous_status = 'neither') AS neither
    FROM episodes
    WHERE practice = 'seclusion' AND indigenous_status IS NOT NULL
    GROUP BY 1, 2, 3
),
counts AS (
    SELECT org_code, fy,
           sum(CASE WHEN indigenous THEN 1 ELSE 0 END) AS indigenous_people,
           sum(CASE WHEN NOT indigenous AND neither THEN 1 ELSE 0 END) AS non_indigenous_people
    FROM people GROUP BY 1, 2
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
           sum(CASE WHEN indigenous_status IN ('aboriginal', 'torres_strait_islander', 'both')
                    THEN population ELSE 0 END) AS indigenous_population,
           sum(CASE WHEN indigenous_status = 'neither' THEN population ELSE 0 END) AS non_indigenous_population
    FROM population
    WHERE indigenous_status IS NOT NULL
    GROUP BY 1, 2
),
mine AS (
    SELECT peer_group FROM peer_groups WHERE org_code = $org AND grouping = $grouping
),
rows AS (
    SELECT y.org_code, o.jurisdiction, g.peer_group,
           CAST(y.fy - 1 AS VARCHAR) || '/' || substr(CAST(y.fy AS VARCHAR), 3, 2) AS period,
           y.received,
           CASE WHEN y.received THEN coalesce(c.indigenous_people, 0) END AS indigenous_people,
           CASE WHEN y.received THEN coalesce(c.non_indigenous_people, 0) END AS non_indigenous_people,
           p.indigenous_population,
           p.non_indigenous_population
    FROM years y
    JOIN pop p ON p.org_code = y.org_code AND p.fy = y.fy
    LEFT JOIN counts c ON c.org_code = y.org_code AND c.fy = y.fy
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
       period,
       bool_and(received) AS extract_received,
       CASE WHEN $level = 'org' AND NOT bool_and(received) THEN NULL ELSE sum(indigenous_people) END AS indigenous_people,
       sum(CASE WHEN received OR $level = 'org' THEN indigenous_population END) AS indigenous_population,
       CASE WHEN $level = 'org' AND NOT bool_and(received) THEN NULL ELSE sum(non_indigenous_people) END AS non_indigenous_people,
       sum(CASE WHEN received OR $level = 'org' THEN non_indigenous_population END) AS non_indigenous_population
FROM keyed
GROUP BY jurisdiction_key, org_key, group_key, period
ORDER BY jurisdiction_key, org_key, group_key, period
