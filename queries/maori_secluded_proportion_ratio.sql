-- title: Māori : non-Māori non-Pacific ratio of the % of inpatients secluded
-- description: The HQSC headline for Māori (distinct Māori inpatients secluded in the
-- description: month over distinct Māori inpatients) divided by the same for
-- description: non-Māori non-Pacific inpatients: a ratio of two proportions of people,
-- description: with Katz's 95% limits on the log scale (not a ratio of population
-- description: rates). Above 1, Māori inpatients are secluded more often. Per
-- description: organisation, peer group or jurisdiction, by month, quarter, calendar or financial
-- description: year (distinct inpatients of a quarter or year from `inpatients_by_period`,
-- description: never a sum of months). Ethnicity is prioritised level 1; `unknown`
-- description: counts with non-Māori non-Pacific. New Zealand only: Australian services
-- description: report Indigenous status, not ethnicity.
-- unit: ratio of proportions
-- ci: proportion_ratio
-- numerator: maori_secluded -- distinct Māori inpatients secluded in the period
-- denominator: maori_inpatients -- distinct Māori inpatients in the period
-- comparison_numerator: other_secluded -- distinct non-Māori non-Pacific inpatients secluded
-- comparison_denominator: other_inpatients -- distinct non-Māori non-Pacific inpatients
-- param: org text default '' -- organisation code; at level peer_group, that organisation's group; empty for all
-- param: level text default org in org|peer_group|national -- what a row is about
-- param: grouping text default size in size|challenge|config -- the peer grouping (ako peers --by)
-- param: grain text default month in month|quarter|year|financial_year -- length of a period (a financial year runs July to June: 2024/25)
-- Each person once per period, Māori and other if any of their episodes say so; then
-- both counted in one pass (DataFusion computes a CTE as often as it is named).
WITH person_periods AS (
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
           person_key,
           bool_or(ethnicity = 'maori') AS maori,
           bool_or(ethnicity NOT IN ('maori', 'pacific')) AS other
    FROM episodes
    WHERE practice = 'seclusion' AND ethnicity IS NOT NULL
    GROUP BY 1, 2, 3
),
secluded AS (
    SELECT org_code, month,
           count(*) FILTER (WHERE maori) AS maori_people,
           count(*) FILTER (WHERE other) AS other_people
    FROM person_periods
    GROUP BY org_code, month
),
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
    SELECT org_code, period AS month,
           CASE ethnicity WHEN 'maori' THEN 'maori' WHEN 'pacific' THEN 'pacific'
                ELSE 'other' END AS grp,
           sum(people) AS people
    FROM counted
    WHERE ethnicity IS NOT NULL
    GROUP BY 1, 2, 3
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
months AS (
    SELECT org_code, month,
           sum(CASE WHEN grp = 'maori' THEN people END) AS maori_inpatients,
           sum(CASE WHEN grp = 'other' THEN people END) AS other_inpatients
    FROM inpatients
    GROUP BY org_code, month
),
mine AS (
    SELECT peer_group FROM peer_groups WHERE org_code = $org AND grouping = $grouping
),
rows AS (
    SELECT m.org_code,
           o.jurisdiction,
           g.peer_group,
           m.month AS period,
           s.received,
           CASE WHEN s.received THEN coalesce(p.maori_people, 0) END AS maori_secluded,
           m.maori_inpatients,
           CASE WHEN s.received THEN coalesce(p.other_people, 0) END AS other_secluded,
           m.other_inpatients
    FROM months m
    LEFT JOIN secluded p ON p.org_code = m.org_code AND p.month = m.month
    LEFT JOIN arrived s ON s.org_code = m.org_code AND s.month = m.month
    LEFT JOIN peer_groups g ON g.org_code = m.org_code AND g.grouping = $grouping
    LEFT JOIN organisations o ON o.org_code = m.org_code
    WHERE $org = ''
       OR ($level = 'org' AND m.org_code = $org)
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
       bool_and(coalesce(received, false)) AS extract_received,
       CASE WHEN $level = 'org' AND NOT bool_and(coalesce(received, false)) THEN NULL
            ELSE sum(maori_secluded) END AS maori_secluded,
       CASE WHEN $level = 'org' THEN sum(maori_inpatients)
            ELSE sum(CASE WHEN received THEN maori_inpatients END) END AS maori_inpatients,
       CASE WHEN $level = 'org' AND NOT bool_and(coalesce(received, false)) THEN NULL
            ELSE sum(other_secluded) END AS other_secluded,
       CASE WHEN $level = 'org' THEN sum(other_inpatients)
            ELSE sum(CASE WHEN received THEN other_inpatients END) END AS other_inpatients
FROM keyed
GROUP BY jurisdiction_key, org_key, group_key, period
ORDER BY jurisdiction_key, org_key, group_key, period
