-- title: Percentage of inpatients secluded, by ethnic group
-- description: The HQSC headline measure: distinct people secluded in the period as a
-- description: percentage of distinct inpatients in the period, for Māori, Pacific,
-- description: non-Māori non-Pacific and all, with 95% Wilson limits. Per organisation,
-- description: per peer group or per jurisdiction; by month, quarter, calendar or financial year.
-- description: Ethnicity is prioritised level 1 and New Zealand's alone: Australian
-- description: rows, which report Indigenous status instead, count only in all.
-- description: `unknown` counts in non-Māori non-Pacific and in all. Monthly inpatients cannot be added into a quarter
-- description: without counting people twice, so quarters and financial years take their
-- description: distinct inpatients from `inpatients_by_period`, and their people secluded
-- description: are counted once in the period. An organisation's period with a month
-- description: whose extract never arrived has no count; groups pool the periods that did.
-- unit: % of inpatients
-- ci: wilson
-- multiplier: 100
-- numerator: secluded_inpatients -- distinct inpatients secluded in the period
-- denominator: inpatients -- distinct inpatients in the period
-- param: org text default '' -- organisation code; at level peer_group, that organisation's group; empty for all
-- param: level text default org in org|peer_group|national -- what a row is about
-- param: grouping text default size in size|challenge|config -- the peer grouping (ako peers --by)
-- param: grain text default month in month|quarter|year|financial_year -- length of a period (a financial year runs July to June: 2024/25)
WITH secluded AS (
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
           END AS month,
           CASE ethnicity WHEN 'maori' THEN 'maori' WHEN 'pacific' THEN 'pacific'
                ELSE 'non_maori_non_pacific' END AS ethnicity,
           ethnicity IS NULL AS other_code_set,
           person_key
    FROM episodes
    WHERE practice = 'seclusion'
),
-- Each person once per period, with the groups any of their episodes recorded: one pass
-- over the episodes (DataFusion computes a CTE as often as it is named), then the groups
-- counted side by side and unpivoted.
person_periods AS (
    SELECT org_code, month, person_key,
           bool_or(NOT other_code_set AND ethnicity = 'maori') AS maori,
           bool_or(NOT other_code_set AND ethnicity = 'pacific') AS pacific,
           bool_or(NOT other_code_set AND ethnicity = 'non_maori_non_pacific') AS non_maori_non_pacific
    FROM secluded
    GROUP BY org_code, month, person_key
),
period_counts AS (
    SELECT org_code, month,
           count(*) FILTER (WHERE maori) AS maori,
           count(*) FILTER (WHERE pacific) AS pacific,
           count(*) FILTER (WHERE non_maori_non_pacific) AS non_maori_non_pacific,
           count(*) AS all_people
    FROM person_periods
    GROUP BY org_code, month
),
people_secluded AS (
    SELECT c.org_code, c.month, k.ethnicity,
           CASE k.ethnicity WHEN 'maori' THEN c.maori WHEN 'pacific' THEN c.pacific
                WHEN 'non_maori_non_pacific' THEN c.non_maori_non_pacific
                ELSE c.all_people END AS people
    FROM period_counts c
    CROSS JOIN (VALUES ('maori'), ('pacific'), ('non_maori_non_pacific'), ('all')) AS k(ethnicity)
),
-- Distinct inpatients of the period: the month's own count, or the quarter's or
-- financial year's from `inpatients_by_period` (never a sum of months).
counted AS (
    SELECT org_code, month AS period, ethnicity, people
    FROM inpatient_activity
    WHERE $grain = 'month'
    UNION ALL
    SELECT org_code, period, ethnicity, people
    FROM inpatients_by_period
    WHERE ($grain = 'quarter' AND substr(period, 5, 2) = '-Q')
       OR ($grain = 'year' AND length(period) = 4)
       OR ($grain = 'financial_year' AND substr(period, 5, 1) = '/')
),
inpatients AS (
    SELECT org_code,
           period AS month,
           CASE ethnicity WHEN 'maori' THEN 'maori' WHEN 'pacific' THEN 'pacific'
                ELSE 'non_maori_non_pacific' END AS ethnicity,
           ethnicity IS NULL AS other_code_set,
           people
    FROM counted
),
-- A period arrived when every one of its months' extracts did.
arrived AS (
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
           END AS month,
           bool_and(received_date IS NOT NULL) AS received
    FROM submissions
    GROUP BY 1, 2
),
denominators AS (
    SELECT org_code, month, ethnicity, sum(people) AS people
    FROM inpatients WHERE NOT other_code_set GROUP BY org_code, month, ethnicity
    UNION ALL
    SELECT org_code, month, 'all' AS ethnicity, sum(people) AS people
    FROM inpatients GROUP BY org_code, month
),
mine AS (
    SELECT peer_group FROM peer_groups WHERE org_code = $org AND grouping = $grouping
),
rows AS (
    SELECT d.org_code,
           o.jurisdiction,
           g.peer_group,
           d.ethnicity,
           d.month AS period,
           s.received,
           CASE WHEN s.received THEN coalesce(p.people, 0) END AS secluded,
           d.people AS inpatients
    FROM denominators d
    LEFT JOIN people_secluded p
           ON p.org_code = d.org_code AND p.month = d.month AND p.ethnicity = d.ethnicity
    LEFT JOIN arrived s ON s.org_code = d.org_code AND s.month = d.month
    LEFT JOIN peer_groups g ON g.org_code = d.org_code AND g.grouping = $grouping
    LEFT JOIN organisations o ON o.org_code = d.org_code
    WHERE $org = ''
       OR ($level = 'org' AND d.org_code = $org)
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
       bool_and(coalesce(received, false)) AS extract_received,
       CASE WHEN $level = 'org' AND NOT bool_and(coalesce(received, false)) THEN NULL
            ELSE sum(secluded) END AS secluded_inpatients,
       CASE WHEN $level = 'org' THEN sum(inpatients)
            ELSE sum(CASE WHEN received THEN inpatients END) END AS inpatients
FROM keyed
GROUP BY jurisdiction_key, org_key, group_key, ethnicity, period
ORDER BY jurisdiction_key, org_key, group_key, period, ethnicity
