-- title: People secluded per 100,000 population, age-standardised, Māori and non-Māori
-- description: Distinct people secluded in the financial year per 100,000 population,
-- description: directly standardised by age to a standard population from the
-- description: standard_population table (ESP 2013 by default; the NZ Ministry of Health
-- description: uses the 2001 Census Māori population for Māori / non-Māori comparisons).
-- description: Dobson 95% limits (null below 10 people, as PHE) and Fay–Feuer gamma limits.
-- description: A person's age band is the youngest recorded in the year; a person is Māori
-- description: if any episode records Māori (New Zealand's code set: Australian services
-- description: count only in all). Per organisation, peer group or jurisdiction;
-- description: only years whose every month arrived are standardised.
-- unit: people per 100,000 population (age-standardised)
-- ci: dsr
-- multiplier: 100000
-- numerator: people -- distinct people secluded, per age band
-- denominator: population -- population served, per age band
-- param: org text default '' -- organisation code; at level peer_group, that organisation's group; empty for all
-- param: level text default org in org|peer_group|national -- what a row is about
-- param: grouping text default size in size|challenge|config -- the peer grouping (ako peers --by)
-- param: standard text default esp2013 -- a standard in the standard_population table
WITH people AS (
    SELECT org_code,
           CAST(substr(month, 1, 4) AS BIGINT)
               + CASE WHEN CAST(substr(month, 6, 2) AS BIGINT) >= 7 THEN 1 ELSE 0 END AS fy,
           person_key,
           bool_or(ethnicity = 'maori') AS maori,
           min(age_band) AS age_band
    FROM episodes
    WHERE practice = 'seclusion'
    GROUP BY 1, 2, 3
),
-- One pass over `people`: DataFusion computes a CTE as often as it is named, so the
-- groups are counted side by side and unpivoted, not as a union of two aggregates.
per_year AS (
    SELECT org_code, fy, age_band,
           count(*) FILTER (WHERE maori) AS maori,
           count(*) FILTER (WHERE NOT maori) AS non_maori,
           count(*) AS all_people
    FROM people GROUP BY 1, 2, 3
),
counts AS (
    SELECT c.org_code, c.fy, c.age_band, k.ethnicity,
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
    SELECT org_code, year AS fy, age_band, CASE WHEN ethnicity = 'maori' THEN 'maori' ELSE 'non_maori' END AS ethnicity,
           sum(population) AS population
    FROM population WHERE ethnicity IS NOT NULL GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT org_code, year AS fy, age_band, 'all' AS ethnicity, sum(population) AS population
    FROM population GROUP BY 1, 2, 3
),
mine AS (
    SELECT peer_group FROM peer_groups WHERE org_code = $org AND grouping = $grouping
),
rows AS (
    SELECT y.org_code, o.jurisdiction, g.peer_group, p.ethnicity, p.age_band,
           CAST(y.fy - 1 AS VARCHAR) || '/' || substr(CAST(y.fy AS VARCHAR), 3, 2) AS period,
           y.received,
           coalesce(c.people, 0) AS people,
           p.population
    FROM years y
    JOIN pop p ON p.org_code = y.org_code AND p.fy = y.fy
    LEFT JOIN counts c
           ON c.org_code = y.org_code AND c.fy = y.fy AND c.ethnicity = p.ethnicity AND c.age_band = p.age_band
    LEFT JOIN peer_groups g ON g.org_code = y.org_code AND g.grouping = $grouping
    LEFT JOIN organisations o ON o.org_code = y.org_code
    WHERE y.received
      AND ($org = ''
           OR ($level = 'org' AND y.org_code = $org)
           OR ($level = 'peer_group' AND g.peer_group IN (SELECT peer_group FROM mine))
           OR $level = 'national')
),
keyed AS (
    SELECT CASE WHEN $level = 'org' THEN org_code END AS org_key,
           CASE WHEN $level <> 'national' THEN peer_group END AS group_key,
           CASE WHEN $level <> 'peer_group' THEN jurisdiction END AS jurisdiction_key,
           *
    FROM rows
)
SELECT k.jurisdiction_key AS jurisdiction,
       k.org_key AS org_code,
       k.group_key AS peer_group,
       k.ethnicity,
       k.period,
       k.age_band,
       sum(k.people) AS people,
       sum(k.population) AS population,
       min(s.weight) AS weight
FROM keyed k
JOIN standard_population s ON s.age_band = k.age_band AND s.standard = $standard
GROUP BY k.jurisdiction_key, k.org_key, k.group_key, k.ethnicity, k.period, k.age_band
ORDER BY k.jurisdiction_key, k.org_key, k.group_key, k.period, k.ethnicity, k.age_band
