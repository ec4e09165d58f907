-- title: Percentage of inpatients secluded, by ethnic group
-- description: The HQSC headline measure: distinct people secluded in the month as a
-- description: percentage of distinct inpatients in the month, for Māori, Pacific,
-- description: non-Māori non-Pacific and all, per organisation and month. Ethnicity is
-- description: prioritised level 1; `unknown` counts in non-Māori non-Pacific and in all.
-- description: Null where the month's extract never arrived.
-- unit: % of inpatients
-- param: org text default '' -- organisation code; empty for every organisation
WITH secluded AS (
    SELECT org_code,
           month,
           CASE ethnicity WHEN 'maori' THEN 'maori' WHEN 'pacific' THEN 'pacific'
                ELSE 'non_maori_non_pacific' END AS ethnicity_group,
           person_key
    FROM episodes
    WHERE practice = 'seclusion' AND ($org = '' OR org_code = $org)
),
people_secluded AS (
    SELECT org_code, month, ethnicity_group, count(DISTINCT person_key) AS people
    FROM secluded GROUP BY org_code, month, ethnicity_group
    UNION ALL
    SELECT org_code, month, 'all' AS ethnicity_group, count(DISTINCT person_key) AS people
    FROM secluded GROUP BY org_code, month
),
inpatients AS (
    SELECT org_code,
           month,
           CASE ethnicity WHEN 'maori' THEN 'maori' WHEN 'pacific' THEN 'pacific'
                ELSE 'non_maori_non_pacific' END AS ethnicity_group,
           people
    FROM inpatient_activity
    WHERE ($org = '' OR org_code = $org)
),
denominators AS (
    SELECT org_code, month, ethnicity_group, sum(people) AS people
    FROM inpatients GROUP BY org_code, month, ethnicity_group
    UNION ALL
    SELECT org_code, month, 'all' AS ethnicity_group, sum(people) AS people
    FROM inpatients GROUP BY org_code, month
)
SELECT d.org_code,
       d.month AS period,
       d.ethnicity_group,
       coalesce(s.received_date IS NOT NULL, false) AS extract_received,
       CASE WHEN s.received_date IS NOT NULL THEN coalesce(p.people, 0) END AS numerator,
       d.people AS denominator,
       CASE WHEN s.received_date IS NOT NULL AND d.people > 0
            THEN 100.0 * CAST(coalesce(p.people, 0) AS DOUBLE) / CAST(d.people AS DOUBLE)
       END AS value
FROM denominators d
LEFT JOIN people_secluded p
       ON p.org_code = d.org_code AND p.month = d.month AND p.ethnicity_group = d.ethnicity_group
LEFT JOIN submissions s ON s.org_code = d.org_code AND s.month = d.month
ORDER BY d.org_code, d.month, d.ethnicity_group
