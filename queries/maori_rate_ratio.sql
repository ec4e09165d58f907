-- title: Māori : non-Māori rate ratio of people secluded
-- description: The rate of Māori people secluded per Māori population over the rate of
-- description: non-Māori people secluded per non-Māori population, per financial year,
-- description: with exact conditional 95% limits (lower_95, upper_95; defined when one
-- description: group has no one secluded) and Wald limits on the log scale. A ratio above
-- description: 1 means Māori are secluded more. Crude rates; per organisation, peer group
-- description: or jurisdiction. An organisation's year with a missing month has none.
-- description: New Zealand only: Australian services report Indigenous status, not
-- description: ethnicity (see indigenous_rate_ratio).
-- unit: rate ratio
-- ci: rate_ratio
-- numerator: maori_people -- distinct Māori people secluded
-- denominator: maori_population -- Māori population served
-- comparison_numerator: other_people -- distinct non-Māori people secluded
-- comparison_denominator: other_population -- non-Māori population served
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
    WHERE practice = 'seclusion' AND ethnicity IS NOT NULL
    GROUP BY 1, 2, 3
),
counts AS (
    SELECT org_code, fy,
           sum(CASE WHEN maori THEN 1 ELSE 0 END) AS maori_people,
           sum(CASE WHEN maori THEN 0 ELSE 1 END) AS other_people
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
           sum(CASE WHEN ethnicity = 'maori' THEN population ELSE 0 END) AS maori_population,
           sum(CASE WHEN ethnicity = 'maori' THEN 0 ELSE population END) AS other_population
    FROM population
    WHERE ethnicity IS NOT NULL
    GROUP BY 1, 2
),
mine AS (
    SELECT peer_group FROM peer_groups WHERE org_code = $org AND grouping = $grouping
),
rows AS (
    SELECT y.org_code, o.jurisdiction, g.peer_group,
           CAST(y.fy - 1 AS VARCHAR) || '/' || substr(CAST(y.fy AS VARCHAR), 3, 2) AS period,
           y.received,
           CASE WHEN y.received THEN coalesce(c.maori_people, 0) END AS maori_people,
           CASE WHEN y.received THEN coalesce(c.other_people, 0) END AS other_people,
           p.maori_population,
           p.other_population
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
       CASE WHEN $level = 'org' AND NOT bool_and(received) THEN NULL ELSE sum(maori_people) END AS maori_people,
       sum(CASE WHEN received OR $level = 'org' THEN maori_population END) AS maori_population,
       CASE WHEN $level = 'org' AND NOT bool_and(received) THEN NULL ELSE sum(other_people) END AS other_people,
       sum(CASE WHEN received OR $level = 'org' THEN other_population END) AS other_population
FROM keyed
GROUP BY jurisdiction_key, org_key, group_key, period
ORDER BY jurisdiction_key, org_key, group_key, period
