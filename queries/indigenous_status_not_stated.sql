-- title: People secluded whose Indigenous status was not stated (%), Australia
-- description: A data-quality figure: of the distinct people secluded in the financial
-- description: year, the percentage whose Indigenous status no episode stated (every
-- description: episode coded "not stated / inadequately described"), with 95% Wilson
-- description: limits. These people are counted in all and in this figure, not dropped:
-- description: they are in neither the Indigenous nor the non-Indigenous rate, which are
-- description: both low by up to this share. Australian services only. Per
-- description: organisation, peer group or jurisdiction; an organisation's year with a
-- description: month whose extract never arrived has no count.
-- unit: % of people secluded
-- ci: wilson
-- multiplier: 100
-- numerator: not_stated_people -- distinct people secluded with Indigenous status never stated
-- denominator: people -- distinct people secluded
-- param: org text default '' -- organisation code; at level peer_group, that organisation's group; empty for all
-- param: level text default org in org|peer_group|national -- what a row is about
-- param: grouping text default size in size|challenge|config -- the peer grouping (ako peers --by)
WITH people AS (
    SELECT org_code,
           CAST(substr(month, 1, 4) AS BIGINT)
               + CASE WHEN CAST(substr(month, 6, 2) AS BIGINT) >= 7 THEN 1 ELSE 0 END AS fy,
           person_key,
           bool_and(indigenous_status = 'not_stated') AS not_stated
    FROM episodes
    WHERE practice = 'seclusion' AND indigenous_status IS NOT NULL
    GROUP BY 1, 2, 3
),
counts AS (
    SELECT org_code, fy,
           sum(CASE WHEN not_stated THEN 1 ELSE 0 END) AS not_stated_people,
           count(*) AS people
    FROM people GROUP BY 1, 2
),
years AS (
    SELECT s.org_code,
           CAST(substr(s.month, 1, 4) AS BIGINT)
               + CASE WHEN CAST(substr(s.month, 6, 2) AS BIGINT) >= 7 THEN 1 ELSE 0 END AS fy,
           bool_and(s.received_date IS NOT NULL) AS received
    FROM submissions s
    WHERE s.org_code IN (SELECT org_code FROM population WHERE indigenous_status IS NOT NULL)
    GROUP BY 1, 2
),
mine AS (
    SELECT peer_group FROM peer_groups WHERE org_code = $org AND grouping = $grouping
),
rows AS (
    SELECT y.org_code, o.jurisdiction, g.peer_group,
           CAST(y.fy - 1 AS VARCHAR) || '/' || substr(CAST(y.fy AS VARCHAR), 3, 2) AS period,
           y.received,
           CASE WHEN y.received THEN coalesce(c.not_stated_people, 0) END AS not_stated_people,
           CASE WHEN y.received THEN coalesce(c.people, 0) END AS people
    FROM years y
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
       CASE WHEN $level = 'org' AND NOT bool_and(received) THEN NULL ELSE sum(not_stated_people) END AS not_stated_people,
       CASE WHEN $level = 'org' AND NOT bool_and(received) THEN NULL ELSE sum(people) END AS people
FROM keyed
GROUP BY jurisdiction_key, org_key, group_key, period
ORDER BY jurisdiction_key, org_key, group_key, period
